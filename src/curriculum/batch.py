"""A class's gradebook: shards of a batch, and merging them back into one.

``curriculum grade --submissions DIR --shard K/N`` grades every N-th learner folder
starting at the K-th (0 <= K < N, names sorted, round-robin), so N machines of an
array job (a Kubernetes Indexed Job, a GitHub Actions matrix, a Slurm array) each
grade a slice; their indices are 0-based in all three, so K is too.
``curriculum merge OUT SHARD_DIRS...`` then joins the slices: one ``grades.csv``
(rows sorted by learner, exactly what one unsharded run writes) and one
``submissions/<learner>/`` folder per learner with its ``results.json``, report and
logs.

The gradebook holds no time-like column, so a sharded or parallel run writes the
same ``grades.csv`` as a serial one. The time-like fields live in ``batch.json``
(``graded_at``) and in each ``results.json`` (:data:`TIME_LIKE`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

GRADES_NAME, BATCH_NAME, SUBMISSIONS_DIR = "grades.csv", "batch.json", "submissions"
# Fields of results.json that depend on the clock or the machine's load, not on the submission.
TIME_LIKE = frozenset({"execution_time", "generated_at", "duration_s", "elapsed_s", "graded_at"})
SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` as ``(K, N)``: slice K (0-based) of N."""
    match = SHARD.match(text.strip())
    if match is None or not 0 <= int(match.group(1)) < int(match.group(2)):
        raise ValueError(f"--shard takes K/N with 0 <= K < N (0-based, as array jobs number them), not {text!r}")
    return int(match.group(1)), int(match.group(2))


def learner_folders(submissions: Path) -> list[Path]:
    """The learner folders of a batch, sorted by name (hidden folders left out)."""
    if not submissions.is_dir():
        raise ValueError(f"{submissions} is not a folder of submissions")
    return sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))


def shard_slice(learners: Sequence[Path], shard: tuple[int, int] | None) -> list[Path]:
    """Round-robin: the learners at positions K, K+N, K+2N, ... of the sorted list."""
    if shard is None:
        return list(learners)
    index, count = shard
    return list(learners[index::count])


def write_gradebook(out_dir: Path, task_ids: Sequence[str], rows: Sequence[dict[str, Any]],
                    meta: dict[str, Any] | None = None) -> Path:
    """``grades.csv`` (a row per learner, sorted) and ``batch.json`` (the same rows, typed, with ``meta``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda r: str(r["learner"]))
    columns = ["learner", *task_ids, "total", "max_total", "percent", "status"]
    path = out_dir / GRADES_NAME
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record = {"graded_at": stamp, "columns": columns, **(meta or {}), "rows": list(rows)}
    (out_dir / BATCH_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def merge_batches(out_dir: Path, shard_dirs: Sequence[Path]) -> Path:
    """Join the outputs of ``--shard K/N`` runs into one gradebook and one results set.

    Refuses shards of different batches (columns, N or learner count differ), a shard given
    twice, a missing shard, or a learner graded in two shards: a merged gradebook is complete.
    """
    if not shard_dirs:
        raise ValueError("merge needs at least one shard folder")
    records = []
    for folder in shard_dirs:
        try:
            records.append((folder, json.loads((folder / BATCH_NAME).read_text(encoding="utf-8"))))
        except (OSError, ValueError) as err:
            raise ValueError(f"{folder} holds no readable {BATCH_NAME}: {err}") from None
    first = records[0][1]
    for folder, record in records:
        if record.get("shard") is None:
            raise ValueError(f"{folder} is not a shard (graded without --shard)")
        for key in ("columns", "learners_total"):
            if record.get(key) != first.get(key):
                raise ValueError(f"{folder} belongs to another batch: its {key} differ from {records[0][0]}'s")
    shards = [parse_shard(r["shard"]) for _, r in records]
    count = shards[0][1]
    if any(n != count for _, n in shards):
        raise ValueError(f"the shards split the batch differently: {sorted({r['shard'] for _, r in records})}")
    indices = [k for k, _ in shards]
    twice = sorted({k for k in indices if indices.count(k) > 1})
    missing = sorted(set(range(count)) - set(indices))
    if twice or missing:
        raise ValueError(f"shards given twice: {twice}; shards missing: {missing} (of {count})")

    rows: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for folder, record in records:
        for row in record["rows"]:
            if row["learner"] in seen:
                raise ValueError(f"{row['learner']} is graded in both {seen[row['learner']]} and {folder}")
            seen[row["learner"]] = folder
            rows.append(row)
    if len(rows) != first.get("learners_total"):
        raise ValueError(f"the shards hold {len(rows)} learners, the batch {first.get('learners_total')}")
    for learner, folder in seen.items():
        source, target = folder / SUBMISSIONS_DIR / learner, out_dir / SUBMISSIONS_DIR / learner
        if source.is_dir():
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(source, target)
    task_ids = first["columns"][1:-4]
    meta = {"shard": None, "learners_total": first["learners_total"], "merged_from": [str(f) for f in shard_dirs]}
    return write_gradebook(out_dir, task_ids, rows, meta)


def without_time(value: Any) -> Any:
    """``value`` with every time-like field (:data:`TIME_LIKE`) dropped, at any depth (to compare runs)."""
    if isinstance(value, dict):
        return {k: without_time(v) for k, v in value.items() if k not in TIME_LIKE}
    if isinstance(value, list):
        return [without_time(v) for v in value]
    return value
