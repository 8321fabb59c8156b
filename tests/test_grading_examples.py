"""The array-job examples in docs/grading/ are valid for their engines and shard the class consistently.

The Kubernetes files are checked as c08 checks its deployment files: against the strict JSON
schemas of one Kubernetes version that the ``kubernetes-validate`` wheel bundles (no cluster, no
network), through c08's own ``load_manifests`` and ``validate_manifests``. Those come with c08's
dependencies, which ``make setup`` installs; where c08 is not installed the test is skipped and
says why. The GitHub Actions example goes through actionlint (the dev extra's wheel).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from test_workflows import actionlint

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "docs" / "grading"
SHARD_ARG = re.compile(r"--shard\s+\"?(.+?)/(\d+)\"?\s")


def deploy_check():  # -> the c08_serving_ops.tools.deploy_check module
    return pytest.importorskip(
        "c08_serving_ops.tools.deploy_check",
        reason="the Kubernetes schemas come with c08's dependencies (kubernetes-validate): `make setup` installs them",
    )


def test_kubernetes_examples_pass_the_strict_schema():
    check = deploy_check()
    manifests = check.load_manifests(EXAMPLES)
    assert [m["metadata"]["name"] for m in manifests] == ["curriculum-grade", "curriculum-merge"]
    assert check.validate_manifests(manifests) == []


def test_the_schema_check_can_fail(tmp_path: Path):
    check = deploy_check()
    grade = (EXAMPLES / "k8s-indexed-job.yaml").read_text()
    (tmp_path / "a.yaml").write_text(grade.replace("completions: 8", 'completions: "eight"'))
    merge = (EXAMPLES / "k8s-merge-job.yaml").read_text()
    (tmp_path / "b.yaml").write_text(merge.replace("backoffLimit:", "backofLimit:"))
    problems = check.validate_manifests(check.load_manifests(tmp_path))
    assert len(problems) == 2, problems
    assert "completions" in problems[0] and "backofLimit" in problems[1]


def test_the_indexed_job_grades_every_shard_once():
    job = yaml.safe_load((EXAMPLES / "k8s-indexed-job.yaml").read_text())
    spec = job["spec"]
    command = " ".join(spec["template"]["spec"]["containers"][0]["args"]) + " "
    index, count = SHARD_ARG.search(command).groups()  # type: ignore[union-attr]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == int(count)
    assert index == "${JOB_COMPLETION_INDEX}" and '--out "/grading/shards/${JOB_COMPLETION_INDEX}"' in command
    merge = yaml.safe_load((EXAMPLES / "k8s-merge-job.yaml").read_text())
    assert "curriculum merge /grading/gradebook /grading/shards/*" in merge["spec"]["template"]["spec"][
        "containers"][0]["args"]


def test_github_actions_example_passes_actionlint_and_shards_by_its_matrix():
    path = EXAMPLES / "github-actions-grade.yml"
    done = subprocess.run([actionlint(), "-no-color", str(path)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = yaml.safe_load(path.read_text())
    shards = workflow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    command = " ".join(step.get("run", "") for step in workflow["jobs"]["grade"]["steps"]) + " "
    index, count = SHARD_ARG.search(command).groups()  # type: ignore[union-attr]
    assert index == "${{ matrix.shard }}" and shards == list(range(int(count)))
    assert workflow["jobs"]["merge"]["needs"] == "grade"
