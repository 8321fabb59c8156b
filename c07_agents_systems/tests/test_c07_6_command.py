"""c07.6: the evaluation command writes its tables and its pictures: the success-vs-cost plot and one
sample run as an HTML page, a JSON-lines trace and a PNG.

Oracle: the command's own outputs (the files it must write, one run per task and configuration).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c07_agents_systems.evaluate import main

pytestmark = pytest.mark.task("c07.6")


def test_the_command_writes_its_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tasks", "6", "--out", str(tmp_path / "eval")]) == 0
    out = tmp_path / "eval"
    assert {p.name for p in out.iterdir()} == {"results.md", "results.json", "success_vs_cost.png", "trace.html",
                                               "trace.jsonl", "trace.png"}
    data = json.loads((out / "results.json").read_text())
    assert len(data["summaries"]) == 6 and len(data["runs"]) == 36
    assert "plan + execute + review" in capsys.readouterr().out


def test_the_command_with_an_unreachable_llm(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["--tasks", "3", "--llm", "--llm-tasks", "3", "--llm-url", f"http://127.0.0.1:{port}",
                 "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]
    llm_runs = [r for r in runs if "| llm |" in r["config"]]
    assert len(llm_runs) == 9 and not any(r["success"] for r in llm_runs)
    assert all("cannot reach" in r["reason"] for r in llm_runs)
