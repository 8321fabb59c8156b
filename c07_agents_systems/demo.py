"""c07's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c07.1 to c07.4: plan, execute, review over the message bus
# Twelve tasks of the seeded suite with the rule-based policy and the standard tools.

# %%
from collections import Counter

from c07_agents_systems import RulePolicy, SystemConfig, ToolBox, make_suite, run_task_async

tools, suite = ToolBox.standard(), make_suite(12, seed=0)
# Jupyter already runs an event loop, so the cell awaits the runs (a script would call run_task).
results = [await run_task_async(task.text, RulePolicy(), tools, SystemConfig(seed=0)) for task in suite]
solved = sum(task.is_correct(result.answer) and result.finished for task, result in zip(suite, results, strict=True))
print(f"solved {solved} of {len(suite)}; how runs ended: {dict(Counter(r.reason for r in results))}")
print(f"mean cost {sum(r.cost for r in results) / len(results):.4f}, "
      f"mean tool calls {sum(r.tool_calls for r in results) / len(results):.1f}")

# %% [markdown]
# ### c07.6: one run's trace, as the HTML page the course draws
# The file opens in any browser: one lane per agent, one row per message.

# %%
from pathlib import Path

from c07_agents_systems import write_html

page = write_html(results[0].trace, Path("build") / "notebook-trace.html", title=suite[0].text)
print(f"{suite[0].text!r}: answer {results[0].answer}; trace written to {page}")
