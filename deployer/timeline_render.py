"""Drawing a timeline (deployer.timeline_model) as SVG, alone or inline in one HTML page.

Self-contained on purpose: the file is opened from CI artefacts or attached to an incident, often offline, so
nothing is fetched (no script, font, stylesheet or image from anywhere), and every text from AWS is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from itertools import pairwise

from deployer.output import duration
from deployer.timeline_model import OUTCOMES, Bar, Operation, Phase, Step

COLOURS = {
    "complete": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#ef8f00",
    "rolled-back": "#8d6e63",
    "in-progress": "#1565c0",
}
CRITICAL_STROKE = "#111111"
_LABEL_WIDTH = 300  # the column of logical ids
_PLOT_WIDTH = 820
_RIGHT = 20
_ROW = 24
_REASON_LINE = 16
_TOP = 74  # title, legend, axis
_CHAR = 6.4  # average width of an 11 px character, to fit failure labels
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


def _x(at: datetime, start: datetime, scale: float) -> float:
    return _LABEL_WIDTH + (at - start).total_seconds() * scale


def _fit(text: str, room: float) -> str:
    most = max(int(room / _CHAR), 8)
    return text if len(text) <= most else text[: most - 1] + "…"


def svg(operation: Operation, bars: Sequence[Bar], critical: Sequence[Step], *, standalone: bool) -> str:
    start = operation.started
    span = max((operation.ended - start).total_seconds(), 1.0)
    scale = _PLOT_WIDTH / span
    width = _LABEL_WIDTH + _PLOT_WIDTH + _RIGHT
    ys = _row_tops(bars)
    height = ys[-1] + 16
    on_path = {(b.logical_id, phase): i + 1 for i, (b, phase) in enumerate(critical)}
    xmlns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    # The namespace is an identifier, not a reference: nothing is fetched from it.
    out = [
        f'<svg{xmlns} class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(_title(operation))}" style="{_FONT};font-size:11px">',
        f"<title>{escape(_title(operation))}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="18" font-size="14" font-weight="bold">{escape(_title(operation))}</text>',
    ]
    out += _legend(bars)
    out += _axis(span, scale, ys[-1])
    if not bars:  # the emulator, or an operation that only changed the stack's own settings
        out.append(f'<text x="{_LABEL_WIDTH}" y="{_TOP + 16}">No resource events in this operation.</text>')
    for row, bar in enumerate(bars):
        out += _row(row, ys[row], bar, start, scale, on_path)
    out += _links(critical, {b.logical_id: ys[i] for i, b in enumerate(bars)}, start, scale)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _row_tops(bars: Sequence[Bar]) -> list[float]:
    """The top of each row, and the bottom of the last: a failure's reason gets a line of its own under its bar,
    the width of the plot, so that it can be read whole."""
    tops = [float(_TOP)]
    for bar in bars:
        tops.append(tops[-1] + _ROW + (_REASON_LINE if bar.reason else 0))
    if not bars:
        tops.append(tops[-1] + _ROW)
    return tops


def _title(operation: Operation) -> str:
    total = duration((operation.ended - operation.started).total_seconds())
    when = operation.started.strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{operation.stack_name}: {operation.status} in {total}, started {when} ({operation.label})"


def _legend(bars: Sequence[Bar]) -> list[str]:
    out, x = [], 8.0
    for outcome in OUTCOMES:
        count = sum(b.outcome == outcome for b in bars)
        text = f"{outcome} ({count})"
        out.append(
            f'<rect class="legend" data-outcome="{outcome}" x="{x}" y="30" width="12" height="12" '
            f'fill="{COLOURS[outcome]}"/>'
        )
        out.append(f'<text x="{x + 16}" y="40">{text}</text>')
        x += 24 + len(text) * _CHAR
    out.append(
        f'<rect x="{x}" y="30" width="22" height="12" fill="#ffffff" stroke="{CRITICAL_STROKE}" '
        'stroke-width="2.5"/>'
    )
    out.append(f'<text x="{x + 26}" y="40">critical path (numbered)</text>')
    return out


def _axis(span: float, scale: float, bottom: float) -> list[str]:
    step = next((s for s in _STEPS if span / s <= 10), _STEPS[-1])
    out = []
    tick = 0
    while tick <= span:
        x = _LABEL_WIDTH + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{_TOP - 8}" x2="{x:.1f}" y2="{bottom}" stroke="#e0e0e0"/>')
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{_TOP - 12}" text-anchor="middle">{duration(tick)}</text>'
        )
        tick += step
    return out


def _row(
    row: int, y: float, bar: Bar, start: datetime, scale: float, on_path: dict[tuple[str, Phase], int]
) -> list[str]:
    tall = _ROW + (_REASON_LINE if bar.reason else 0)
    x1, x2 = _x(bar.start, start, scale), _x(bar.end, start, scale)
    tip = (
        f"{bar.logical_id} ({bar.resource_type}) {bar.last_status}, {duration(bar.seconds)} from first start"
    )
    if bar.reason:
        tip += f": {bar.reason}"
    band = "#f7f7f7" if row % 2 else "#ffffff"
    colour = COLOURS[bar.outcome]
    # The bar spans the resource's whole part in the operation, pale; its phases of work are drawn solid on it.
    out = [
        f'<rect x="0" y="{y}" width="{_LABEL_WIDTH + _PLOT_WIDTH + _RIGHT}" height="{tall}" fill="{band}"/>',
        f'<text class="resource" x="8" y="{y + 16}">{escape(_fit(bar.logical_id, 190))}'
        f'<tspan fill="#777777"> {escape(_fit(bar.resource_type, 100))}</tspan></text>',
        f'<rect class="bar" data-resource="{escape(bar.logical_id)}" data-outcome="{bar.outcome}" '
        f'x="{x1:.1f}" y="{y + 8}" width="{max(x2 - x1, 2.0):.1f}" height="{_ROW - 16}" fill="{colour}" '
        f'fill-opacity="0.35"><title>{escape(tip)}</title></rect>',
    ]
    for phase in bar.phases:
        step = on_path.get((bar.logical_id, phase))
        px1, px2 = _x(phase.start, start, scale), _x(phase.end, start, scale)
        stroke = f' stroke="{CRITICAL_STROKE}" stroke-width="2.5"' if step else ""
        out.append(
            f'<rect class="phase{" critical" if step else ""}" data-resource="{escape(bar.logical_id)}" '
            f'x="{px1:.1f}" y="{y + 5}" width="{max(px2 - px1, 2.0):.1f}" height="{_ROW - 10}" rx="2" '
            f'fill="{colour}"{stroke}><title>{escape(bar.logical_id)}: {duration(phase.seconds)}</title></rect>'
        )
        if step:
            out.append(
                f'<text class="critical-mark" x="{px1 - 4:.1f}" y="{y + 16}" text-anchor="end" '
                f'font-weight="bold">{step}</text>'
            )
    if bar.reason:
        # Under the bar, from the bar's start if the whole reason fits from there, else from the plot's left edge.
        room = _LABEL_WIDTH + _PLOT_WIDTH - x1
        at = x1 if len(bar.reason) * _CHAR <= room else _LABEL_WIDTH + 4
        out.append(
            f'<text class="failure-label" data-resource="{escape(bar.logical_id)}" x="{at:.1f}" '
            f'y="{y + _ROW + 8}" fill="{COLOURS[bar.outcome]}">'
            f"{escape(_fit(bar.reason, _PLOT_WIDTH + _RIGHT - 4))}</text>"
        )
    return out


def _links(critical: Sequence[Step], tops: dict[str, float], start: datetime, scale: float) -> list[str]:
    """A dashed connector from each critical phase's end to the start of the next one on the path."""
    out = []
    for (bar_a, before), (bar_b, after) in pairwise(critical):
        xa, xb = _x(before.end, start, scale), _x(after.start, start, scale)
        ya = tops[bar_a.logical_id] + _ROW / 2
        yb = tops[bar_b.logical_id] + _ROW / 2
        out.append(
            f'<polyline class="critical-link" points="{xa:.1f},{ya:.1f} {xb:.1f},{ya:.1f} {xb:.1f},{yb:.1f}" '
            f'fill="none" stroke="{CRITICAL_STROKE}" stroke-width="1" stroke-dasharray="3,2"/>'
        )
    return out


def html(operation: Operation, bars: Sequence[Bar], critical: Sequence[Step]) -> str:
    title = escape(_title(operation))
    chain = " → ".join(f"{escape(b.logical_id)} ({duration(p.seconds)})" for b, p in critical) or "(none)"
    on_path = {b.logical_id for b, _ in critical}
    rows = "\n".join(_table_row(b, operation.started, b.logical_id in on_path) for b in bars)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ {_FONT}; margin: 16px; color: #212121; }}
table {{ border-collapse: collapse; font-size: 13px; margin-top: 16px; }}
th, td {{ border-bottom: 1px solid #e0e0e0; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; }}
td {{ white-space: nowrap; }}
td:last-child {{ white-space: normal; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
</style>
</head>
<body>
{svg(operation, bars, critical, standalone=False)}
<p>Critical path (the chain of work that ended last, each step starting after the one before ended): {chain}</p>
<table>
<thead><tr><th>Resource</th><th>Type</th><th>Started</th><th>Working</th><th>Outcome</th><th>Last status</th>
<th>Reason</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def _table_row(bar: Bar, start: datetime, critical: bool) -> str:
    swatch = f'<span class="swatch" style="background:{COLOURS[bar.outcome]}"></span>'
    mark = " (critical path)" if critical else ""
    return (
        f"<tr><td>{escape(bar.logical_id)}{mark}</td><td>{escape(bar.resource_type)}</td>"
        f'<td class="num">+{duration((bar.start - start).total_seconds())}</td>'
        f'<td class="num">{duration(sum(p.seconds for p in bar.phases))}</td><td>{swatch}{bar.outcome}</td>'
        f"<td>{escape(bar.last_status)}</td><td>{escape(bar.reason)}</td></tr>"
    )
