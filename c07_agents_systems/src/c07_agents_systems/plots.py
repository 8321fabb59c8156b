"""PNG figures: success rate against cost across configurations, and a trace drawn as a timeline.

matplotlib with the Agg backend (no display). The trace figure draws the same rows as
:mod:`~c07_agents_systems.html_trace` does, so the README can show a run without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from c07_agents_systems.html_trace import LANE_ORDER, rows
from c07_agents_systems.messages import Trace
from c07_agents_systems.records import Summary

_MARKERS = {"executor alone": "s", "plan + execute": "^", "plan + execute + review": "o"}


def plot_success_vs_cost(summaries: Sequence[Summary], path: Path | str) -> Path:
    """Success rate (y) against mean cost per task (x), one point per configuration."""
    # BEGIN SOLUTION c07.6: one marker per mode, filled without faults, hollow with; labels; save
    if not summaries:
        raise ValueError("nothing to plot: no summaries")
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, s in enumerate(summaries):
        mode = s.config.split(" | ")[0]
        faulty = "no faults" not in s.config
        ax.scatter(1000 * s.mean_cost, 100 * s.success_rate, s=70, marker=_MARKERS.get(mode, "D"),
                   facecolors="none" if faulty else "C0" if "rule" in s.config else "C1",
                   edgecolors="C0" if "rule" in s.config else "C1")
        ax.annotate(s.config.replace(" | ", ", "), (1000 * s.mean_cost, 100 * s.success_rate), fontsize=6,
                    xytext=(6, 7 if i % 2 else -11), textcoords="offset points")  # alternate: fewer overlaps
    ax.set_xlabel("mean cost per task (USD per 1000 tasks)")
    ax.set_ylabel("success rate (%)")
    ax.set_title("success vs cost (filled: no faults, hollow: injected faults)")
    ax.grid(alpha=0.3)
    ax.margins(x=0.25, y=0.08)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
    # END SOLUTION


def plot_trace(trace: Trace, path: Path | str, *, title: str = "c07 run") -> Path:
    """The trace's sequence diagram as a PNG (same rows and colours as the HTML page)."""
    # BEGIN SOLUTION c07.6: lanes as vertical lines; arrows or dots per row; the run's reason as the title
    drawn = rows(trace)
    lanes = [lane for lane in LANE_ORDER if any(lane in (r["src"], r["dst"]) for r in drawn)]
    lanes += sorted({lane for r in drawn for lane in (r["src"], r["dst"])} - set(lanes))
    x = {lane: i for i, lane in enumerate(lanes)}
    fig, ax = plt.subplots(figsize=(2.4 * max(len(lanes), 2), 0.3 * len(drawn) + 1.2))
    for lane, i in x.items():
        ax.axvline(i, color="#d1d5db", zorder=0)
        ax.text(i, -1, lane, ha="center", fontweight="bold")
    for j, row in enumerate(drawn):
        x1, x2 = x[row["src"]], x[row["dst"]]
        if x1 == x2:
            ax.plot([x1], [j], "o", color=row["colour"], ms=4)
            ax.text(x1 + 0.05, j, row["label"], color=row["colour"], va="center", fontsize=7)
        else:
            ax.annotate("", (x2, j), (x1, j), arrowprops={"arrowstyle": "->", "color": row["colour"],
                                                          "linestyle": "--" if row["dashed"] else "-"})
            ax.text((x1 + x2) / 2, j - 0.15, row["label"], color=row["colour"], ha="center", fontsize=7)
        ax.text(-0.45, j, f"{1000 * float(row['time']):.1f} ms", fontsize=6, color="#9ca3af", va="center")
    ends = trace.of_type("run_end")
    ax.set_title(f"{title}\n{ends[-1]['reason'] if ends else 'no run_end'}", fontsize=9)
    ax.set_xlim(-0.6, len(lanes) - 0.4)
    ax.set_ylim(len(drawn), -1.6)
    ax.axis("off")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
    # END SOLUTION
