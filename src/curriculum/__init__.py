"""curriculum: the grader and learner tooling of the ML systems engineering course.

The grader never imports the code it grades: every module runs its tests in a
subprocess (see ``runner.py``) with time, memory and output limits, and the
pytest plugin (``pytest_plugin.py``) streams each test's outcome and metrics
back as JSON lines.
"""

__version__ = "0.1.0"
