"""A run as one self-contained HTML page: a sequence diagram of agents, messages and tool calls.

One vertical lane per participant (coordinator, planner, executor, reviewer, tools); one row per
event, top to bottom in the order they happened, with the time in milliseconds on the left:

* a message is an arrow from its sender's lane to its recipient's (requests blue, replies green,
  error replies red, late replies dashed), labelled with its ``op``, verdict or value;
* a tool call is an arrow to the tools lane, labelled with the tool and its result; a failed call
  is red and an injected corruption orange (a fault the executor cannot see);
* a policy decision is a small grey note with its tokens.

The page has inline CSS and SVG only (no script, no CDN), so it opens anywhere and can be
attached to a bug report. Every label is HTML-escaped: tool output is untrusted text.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from c07_agents_systems.messages import Trace

LANE_ORDER = ("coordinator", "planner", "executor", "reviewer", "tools")
LANE_WIDTH = 190
ROW_HEIGHT = 26
TOP = 50
LEFT = 80
COLOURS = {"request": "#2563eb", "reply": "#16a34a", "error": "#dc2626", "event": "#7c3aed",
           "tool": "#0f766e", "tool_error": "#dc2626", "corrupt": "#ea580c", "policy": "#6b7280"}


def _short(value: Any, limit: int = 38) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(event: dict[str, Any]) -> str:
    payload = event.get("payload") or {}
    if event["kind"] == "request":
        return str(payload.get("op", "request"))
    if event["kind"] == "error":
        return f"error: {payload.get('error_type', '')}"
    for key in ("verdict", "plan", "value", "answer", "action"):
        if key in payload:
            value = payload[key]
            return f"{key}: {len(value['steps'])} steps" if key == "plan" else f"{key}: {_short(value, 24)}"
    return "reply"


def rows(trace: Trace) -> list[dict[str, Any]]:
    """The drawable events: (kind, from lane, to lane, label, colour, dashed, time, tooltip)."""
    # BEGIN SOLUTION c07.6: one row per message, tool call, policy decision and fault, in trace order
    out = []
    for event in trace.events:
        if event["type"] == "message":
            colour = COLOURS[event["kind"]]
            out.append({"src": event["sender"], "dst": event["recipient"] or f"#{event['topic']}",
                        "label": _label(event), "colour": colour, "dashed": bool(event.get("late")),
                        "time": event["sent_at"], "tip": json.dumps(event["payload"], sort_keys=True)[:600]})
        elif event["type"] == "tool_call":
            failed, corrupt = event["error"] is not None, event.get("fault") == "corrupt"
            output = event["output"]
            shown = output.get("value", output) if isinstance(output, dict) else output  # a lookup: its number
            result = f"ERR {event['error']}" if failed else _short(shown, 22)
            colour = COLOURS["tool_error" if failed else "corrupt" if corrupt else "tool"]
            out.append({"src": event["caller"], "dst": "tools", "label": f"{event['tool']} → {result}"
                        + (" (corrupted)" if corrupt else ""), "colour": colour, "dashed": False,
                        "time": event["start"], "tip": json.dumps(event["input"], sort_keys=True)[:600]})
        elif event["type"] == "policy":
            tokens = event["prompt_tokens"] + event["completion_tokens"]
            out.append({"src": event["agent"], "dst": event["agent"], "label": f"{event['decision']}: {tokens} tok",
                        "colour": COLOURS["policy"], "dashed": False, "time": event["at"], "tip": event["policy"]})
        elif event["type"] == "fault":
            out.append({"src": "coordinator", "dst": "coordinator", "label": f"fault: {event['text']}",
                        "colour": COLOURS["corrupt"], "dashed": False, "time": event.get("at", 0.0), "tip": ""})
    return out
    # END SOLUTION


def render_html(trace: Trace, *, title: str = "c07 run") -> str:
    """The page for one run's trace."""
    # BEGIN SOLUTION c07.6: lanes, one SVG row per event, a summary of the run's end; escape everything
    drawn = rows(trace)
    lanes = [lane for lane in LANE_ORDER if any(lane in (r["src"], r["dst"]) for r in drawn)]
    lanes += sorted({lane for r in drawn for lane in (r["src"], r["dst"])} - set(lanes))
    x = {lane: LEFT + LANE_WIDTH * (i + 0.5) for i, lane in enumerate(lanes)}
    width, height = LEFT + LANE_WIDTH * len(lanes) + 20, TOP + ROW_HEIGHT * (len(drawn) + 1)
    esc = html.escape
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="11"><defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/>'
           '</marker></defs>']
    for lane in lanes:
        svg.append(f'<line x1="{x[lane]}" y1="{TOP - 10}" x2="{x[lane]}" y2="{height}" stroke="#d1d5db"/>'
                   f'<text x="{x[lane]}" y="{TOP - 20}" text-anchor="middle" font-weight="bold" '
                   f'font-size="13">{esc(lane)}</text>')
    for i, row in enumerate(drawn):
        y = TOP + ROW_HEIGHT * (i + 0.7)
        x1, x2 = x[row["src"]], x[row["dst"]]
        svg.append(f'<text x="6" y="{y + 4}" fill="#9ca3af">{1000 * float(row["time"]):.1f} ms</text><g>'
                   f'<title>{esc(row["tip"])}</title>')
        if x1 == x2:
            svg.append(f'<circle cx="{x1}" cy="{y}" r="4" fill="{row["colour"]}"/><text x="{x1 + 8}" y="{y + 4}" '
                       f'fill="{row["colour"]}">{esc(row["label"])}</text></g>')
            continue
        dash = ' stroke-dasharray="5,3"' if row["dashed"] else ""
        svg.append(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{row["colour"]}" stroke-width="1.6"{dash} '
                   f'marker-end="url(#a)"/><text x="{(x1 + x2) / 2}" y="{y - 4}" text-anchor="middle" '
                   f'fill="{row["colour"]}">{esc(row["label"])}</text></g>')
    svg.append("</svg>")
    ends = trace.of_type("run_end")
    end = ends[-1] if ends else {"reason": "no run_end event (the run did not finish)"}
    ok = end.get("reason") == "done"
    summary = " · ".join(f"{k}: {esc(_short(end[k], 200))}" for k in ("mode", "policy", "answer", "steps", "tokens",
                                                               "tool_calls", "cost", "faults") if k in end)
    legend = " ".join(f'<span style="color:{c}">■ {esc(k)}</span>' for k, c in COLOURS.items())
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(title)}</title><style>'
            'body{font-family:sans-serif;margin:20px;color:#111}.end{padding:8px;border-radius:6px;margin:8px 0}'
            '.ok{background:#dcfce7}.bad{background:#fee2e2}</style></head><body>'
            f'<h2>{esc(title)}</h2><div class="end {"ok" if ok else "bad"}"><b>{esc(str(end["reason"]))}</b>'
            f'<br>{summary}</div><p>{legend}</p>{"".join(svg)}</body></html>')
    # END SOLUTION


def write_html(trace: Trace, path: Path | str, *, title: str = "c07 run") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(trace, title=title), encoding="utf-8")
    return path
