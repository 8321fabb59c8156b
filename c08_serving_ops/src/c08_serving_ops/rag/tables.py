"""The RAG evaluation's outputs: a Markdown table and the cost-vs-quality plot with its Pareto front."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from c08_serving_ops.rag.scores import Row, pareto_front


def markdown(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table, one configuration per line."""
    head = ("| configuration | n | recall@1 | recall@5 | EM | F1 | cites gold | p50 ms | p95 ms | tokens/answer "
            "| $ / 1k questions | generated | attributed |")
    lines = [head, "|" + "---|" * 13]
    lines += [f"| {r.config} | {r.questions} | {r.recall_at_1:.3f} | {r.recall_at_5:.3f} | {r.exact_match:.3f} "
              f"| {r.f1:.3f} | {r.citation_rate:.3f} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.tokens_per_answer:.1f} "
              f"| {r.usd_per_1k_questions:.4f} | {r.generated_share:.0%} | {r.attributed_share:.0%} |" for r in rows]
    return "\n".join(lines)


def plot(rows: Sequence[Row], path: Path) -> Path:
    """F1 against cost per 1000 questions, the Pareto front joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    front = {name: i for i, name in enumerate(pareto_front(rows))}
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for row in rows:
        ax.scatter(row.usd_per_1k_questions, row.f1, color="tab:red" if row.config in front else "tab:gray")
        ax.annotate(row.config, (row.usd_per_1k_questions, row.f1), textcoords="offset points", xytext=(5, 4),
                    fontsize=8)
    on_front = sorted((r for r in rows if r.config in front), key=lambda r: r.usd_per_1k_questions)
    ax.plot([r.usd_per_1k_questions for r in on_front], [r.f1 for r in on_front], color="tab:red", lw=1,
            label="Pareto front")
    ax.set_xlabel("USD per 1000 questions (prompt + generated tokens)")
    ax.set_ylabel("token F1 (SQuAD)")
    ax.set_title("RAG on XQuAD held-out articles: quality against cost")
    ax.legend(loc="upper left")
    ax.margins(x=0.2, y=0.1)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
