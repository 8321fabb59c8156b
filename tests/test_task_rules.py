"""What a task may use: the static check (every kind of use it sees, and its known limits) and its grading."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from curriculum import cli
from curriculum.grade import grade_submission
from curriculum.manifest import ManifestError, discover_modules, load_module
from curriculum.results import SCHEMA_PATH
from curriculum.rules import check_source, grader_violations
from curriculum.runner import check_rules

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
RULES = ("sklearn.decomposition", "torch.nn.functional.scaled_dot_product_attention", "numpy.linalg.inv",
         "ir_measures", "operator.matmul")


@pytest.mark.parametrize(("kind", "source", "line", "rule"), [
    ("plain import", "import sklearn.decomposition\n", 1, "sklearn.decomposition"),
    ("import with alias", "import sklearn.decomposition as d\n", 1, "sklearn.decomposition"),
    ("from-import", "from sklearn.decomposition import PCA\n", 1, "sklearn.decomposition"),
    ("from-import with alias", "from sklearn import decomposition as dec\n", 1, "sklearn.decomposition"),
    ("attribute chain through an alias",
     "import torch.nn.functional as F\n\n\ndef f(q):\n    return F.scaled_dot_product_attention(q, q, q)\n",
     5, "torch.nn.functional.scaled_dot_product_attention"),
    ("attribute chain from the top", "import torch\ny = torch.nn.functional.scaled_dot_product_attention\n", 2,
     "torch.nn.functional.scaled_dot_product_attention"),
    ("from-imported function", "from numpy.linalg import inv as invert\n", 1, "numpy.linalg.inv"),
    ("importlib literal", "import importlib\nm = importlib.import_module('ir_measures')\n", 2, "ir_measures"),
    ("importlib alias then chain",
     "import importlib as il\nF = il.import_module('torch.nn.functional')\nF.scaled_dot_product_attention\n", 3,
     "torch.nn.functional.scaled_dot_product_attention"),
    ("__import__ literal", "m = __import__('sklearn.decomposition')\n", 1, "sklearn.decomposition"),
    ("getattr literal", "import numpy as np\ninv = getattr(np.linalg, 'inv')\n", 2, "numpy.linalg.inv"),
    ("star import", "from torch.nn.functional import *\n", 1, "torch.nn.functional.scaled_dot_product_attention"),
    ("the @ operator", "def f(a, b):\n    return a @ b\n", 2, "operator.matmul"),
    ("import inside a function", "def f(x):\n    import numpy.linalg as la\n    return la.inv(x)\n", 3,
     "numpy.linalg.inv"),
])
def test_each_kind_of_use_is_caught(kind: str, source: str, line: int, rule: str):
    found = check_source(source, "pkg/mod.py", RULES)
    assert (line, rule) in [(v.line, v.rule) for v in found], kind
    message = next(v.message for v in found if v.line == line)
    assert message.startswith(f"pkg/mod.py:{line}: uses ") and f"(rule: {rule})" in message


@pytest.mark.parametrize(("kind", "source"), [
    ("allowed neighbours", "import numpy as np\nnp.linalg.solve\nimport torch.nn.functional as F\nF.softmax\n"),
    ("a parent module alone", "import sklearn\nimport torch.nn.functional\n"),
    ("a local name that looks like a module", "def f(gguf):\n    return gguf.metadata\n"),
    ("relative imports stay in the package", "from .decomposition import PCA\n"),
    ("a string that only mentions the name", "doc = 'like sklearn.decomposition.PCA'\n"),
])
def test_honest_code_is_not_flagged(kind: str, source: str):
    assert check_source(source, "m.py", (*RULES, "gguf")) == [], kind


@pytest.mark.parametrize(("kind", "source"), [
    ("computed module name", "import importlib\nm = importlib.import_module('ir_' + 'measures')\n"),
    ("computed attribute", "import numpy as np\ninv = getattr(np.linalg, 'i' + 'nv')\n"),
    ("eval", "f = eval('__import__(\"ir_measures\")')\n"),
    ("exec", "exec('import ir_measures')\n"),
])
def test_known_limits_are_not_caught(kind: str, source: str):
    # Documented in README and CONTRIBUTING: names computed at run time are out of a static check's sight.
    assert check_source(source, "m.py", RULES) == [], kind


def test_grader_rules_flag_test_machinery_and_builtins(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("import _pytest.reports\nimport pluggy\n")
    (package / "b.py").write_text("import builtins\nbuiltins.print = None\nsetattr(builtins, 'len', None)\n")
    (package / "c.py").write_text("import sys\nsys.modules['_pytest.runner'].call_and_report = None\n")
    found = {(v.path, v.line, v.rule) for v in grader_violations(package)}
    assert found == {("pkg/a.py", 1, "_pytest"), ("pkg/a.py", 2, "pluggy"), ("pkg/b.py", 2, "builtins (assignment)"),
                     ("pkg/b.py", 3, "builtins (assignment)"), ("pkg/c.py", 2, "_pytest")}


def test_a_bad_rule_is_a_manifest_error(course: Path):
    toml = course / "c01_toy/tasks.toml"
    toml.write_text(toml.read_text().replace('hint = "Use +."', 'hint = "Use +."\nforbid = ["not a name"]'))
    with pytest.raises(ManifestError, match=r"forbid entry 'not a name' is not a dotted module or attribute name"):
        load_module(course / "c01_toy")


@pytest.mark.parametrize("module", [m for m in discover_modules(REPO) if m.built], ids=lambda m: m.id)
def test_the_reference_breaks_no_rule(module):
    assert check_rules(module, module.root / "src") == {}
    assert grader_violations(module.root / "src" / module.package) == []


def test_every_rule_is_listed_in_the_exercise_sheet():
    for module in discover_modules(REPO):
        readme = (module.root / "README.md").read_text(encoding="utf-8")
        for task in module.tasks:
            if task.forbid:
                start = readme.find(f"**What you may use ({task.id}):**")
                assert start >= 0, f"{module.name}/README.md has no 'What you may use ({task.id})' line"
                paragraph = readme[start:readme.find("\n\n", start)].replace("\n", " ")
                missing = [rule for rule in task.forbid if f"`{rule}`" not in paragraph]
                assert not missing, f"{module.name}/README.md, {task.id}: rules not listed: {missing}"


def test_a_violation_scores_the_task_zero_everywhere(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    toml = course / "c01_toy/tasks.toml"
    toml.write_text(toml.read_text().replace('hint = "Sum the bytes modulo 256."',
                                             'hint = "Sum the bytes modulo 256."\nforbid = ["zlib", "hashlib"]'))
    arith = course / "c01_toy/src/c01_toy/arith.py"
    shortcut = "    import zlib as z\n\n    return z.adler32(data) % 1 + sum(data) % 256\n"
    arith.write_text(arith.read_text().replace("    return sum(data) % 256\n", shortcut))
    results = grade_submission(discover_modules(course), course, tmp_path / "out")
    jsonschema.validate(results, SCHEMA)
    by_task = {t["number"]: t for t in results["tests"]}
    assert by_task["c01.3"]["score"] == 0 and by_task["c01.3"]["outcome"] == "forbidden"
    assert by_task["c01.3"]["violations"][0] | {"message": ""} == {
        "path": "c01_toy/arith.py", "line": 22, "rule": "zlib", "used": "zlib", "message": ""}
    assert by_task["c01.1"]["score"] == 10 and by_task["c01.2"]["score"] == 5  # the other tasks keep theirs
    assert results["score"] == 15 and all(m["tampered"] == [] for m in results["modules"])
    message = "c01_toy/arith.py:22: uses zlib, which this task may not use (rule: zlib)"
    assert message in by_task["c01.3"]["output"]
    assert any(message in s for s in results["shortfalls"])
    assert message in (tmp_path / "out/report.md").read_text()

    # curriculum check shows it too, with the file, line and rule
    code = cli.main(["--course", str(course), "check", "c01.3"])
    text = capsys.readouterr().out
    assert code == 1 and message in text and "forbidden" in text
