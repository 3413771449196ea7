"""`reviewer report`: the insights as one self-contained HTML file.

Everything the page needs is inside it: inline CSS, charts drawn here as inline SVG, no
scripts, fonts, images or links, so it opens offline and can be mailed or attached to a
ticket. Every piece of text that came from logs, reviewers or the workspace is escaped.

`render_report` works on the plain dict `reviewer.insights.metrics.Insights.to_dict()`
returns (buckets, series, themes, coverage, and traces: no trace section when None);
`write_report` computes it and writes the file.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Series colours (colour-blind friendly, Okabe-Ito), reused in order.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
ERROR_COLOUR = "#c0392b"

#: The report's charts, in page order: id -> title.
CHARTS = {
    "chart-satisfaction": "User satisfaction over time (share of logged feedback that is positive)",
    "chart-pass-rate": "Reviewer pass rate over time (share of current reviews with a pass verdict)",
    "chart-volume": "Records and errors per period",
    "chart-latency": "Latency p50 and p95 per period (milliseconds)",
}

#: The charts of the trace section (shown when the workspace has agent traces or trace reviews).
TRACE_CHARTS = {
    "chart-trace-steps": "Steps per trace: p50, p95 and max per period",
    "chart-trace-tokens": "Tokens per trace (input + output): p50 and p95 per period",
    "chart-trace-cost": "Cost per trace (USD): p50 and p95 per period",
}

# chart geometry (SVG user units)
_W, _H = 760, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 16, 44


def esc(value: Any) -> str:
    """Text for HTML (content and quoted attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


# -- formatting ---------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_pct(value: Any) -> str:
    f = _num(value)
    return "–" if f is None else f"{f * 100:.0f}%"


def fmt_int(value: Any) -> str:
    f = _num(value)
    return "–" if f is None else f"{round(f):,}"


def fmt_ms(value: Any) -> str:
    f = _num(value)
    if f is None:
        return "–"
    return f"{f / 1000:.2f} s" if f >= 10_000 else f"{f:,.0f} ms"


def fmt_cost(value: Any) -> str:
    f = _num(value)
    if f is None:
        return "–"
    return f"${f:,.2f}" if f >= 100 else f"${f:.4f}"


def series_name(key: Any) -> str:
    return "(none)" if key is None or key == "" else str(key)


def bucket_label(start: Any) -> str:
    """`2026-11-02T00:00:00.000000Z` -> `2026-11-02` (the period's first day)."""
    text = str(start)
    return text[:10] if len(text) >= 10 and text[4:5] == "-" else text


def _fmt_num(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _ms_tick(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


# -- SVG charts ---------------------------------------------------------------------------------


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover


class _Frame:
    """The plot area of one chart: x positions per bucket, y scale from 0 to `top`."""

    def __init__(self, labels: Sequence[str], top: float, *, bars: bool = False) -> None:
        self.labels = list(labels)
        self.top = top
        self.bars = bars
        self.x0, self.x1 = _LEFT, _W - _RIGHT
        self.y0, self.y1 = _H - _BOTTOM, _TOP  # y0 is the bottom (value 0)

    @property
    def slot(self) -> float:
        n = max(len(self.labels), 1)
        return (self.x1 - self.x0) / n

    def x(self, i: int) -> float:
        n = len(self.labels)
        if self.bars or n <= 1:
            return self.x0 + self.slot * (i + 0.5)
        return self.x0 + (self.x1 - self.x0) * i / (n - 1)

    def y(self, value: float) -> float:
        return self.y0 - (self.y0 - self.y1) * min(max(value / self.top, 0.0), 1.0)

    def axes(self, tick_format: Any) -> list[str]:
        out = ['<g class="axes">']
        for k in range(6):  # five steps: a fifth of 1, 2, 2.5, 5 or 10 is round
            value = self.top * k / 5
            y = self.y(value)
            out.append(
                f'<line class="grid" x1="{self.x0}" y1="{y:.1f}" x2="{self.x1}" y2="{y:.1f}"/>'
                f'<text class="tick" x="{self.x0 - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{esc(tick_format(value))}</text>"
            )
        every = max(1, math.ceil(len(self.labels) / 12))
        for i, label in enumerate(self.labels):
            if i % every and i != len(self.labels) - 1:
                continue
            out.append(
                f'<text class="tick" x="{self.x(i):.1f}" y="{self.y0 + 16}" '
                f'text-anchor="middle">{esc(label[5:] if len(label) == 10 else label)}</text>'
            )
        out.append(
            f'<line class="axis" x1="{self.x0}" y1="{self.y0}" x2="{self.x1}" y2="{self.y0}"/>'
        )
        out.append("</g>")
        return out


def _svg_open(chart_id: str, title: str, desc: str, width: int = _W, height: int = _H) -> str:
    return (
        f'<svg id="{esc(chart_id)}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{esc(chart_id)}-title {esc(chart_id)}-desc">'
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>'
        f'<desc id="{esc(chart_id)}-desc">{esc(desc)}</desc>'
    )


def _no_data(chart_id: str, title: str) -> str:
    return (
        _svg_open(chart_id, title, "No data in this period.", _W, 80)
        + f'<text class="empty" x="{_W / 2}" y="45" text-anchor="middle">no data in this period</text>'
        "</svg>"
    )


def _runs(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive defined points: a line breaks at a period without a value."""
    runs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(p)
    return [r for r in runs if r]


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    lines: Sequence[dict[str, Any]],
    *,
    top: float | None = None,
    tick_format: Any = _fmt_num,
    value_format: Any = str,
) -> str:
    """Lines over the periods. Each line: {name, values (one per label, None = no value),
    colour, dashed?}. Every defined value is a `circle.point` with a tooltip <title>."""
    defined = [v for line in lines for v in (_num(x) for x in line["values"]) if v is not None]
    if not labels or not defined:
        return _no_data(chart_id, title)
    frame = _Frame(labels, top if top is not None else nice_max(max(defined)))
    names = ", ".join(line["name"] for line in lines)
    out = [
        _svg_open(chart_id, title, f"{len(defined)} values over {len(labels)} periods for {names}.")
    ]
    out += frame.axes(tick_format)
    for index, line in enumerate(lines):
        colour = line["colour"]
        dash = ' stroke-dasharray="6 4"' if line.get("dashed") else ""
        pts: list[tuple[float, float] | None] = []
        for i, raw in enumerate(line["values"]):
            v = _num(raw)
            pts.append(None if v is None else (frame.x(i), frame.y(v)))
        out.append(f'<g class="series" data-series="{index}" data-name="{esc(line["name"])}">')
        for run in _runs(pts):
            if len(run) > 1:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                out.append(
                    f'<polyline class="line" points="{coords}" fill="none" '
                    f'stroke="{colour}" stroke-width="2"{dash}/>'
                )
        for i, raw in enumerate(line["values"]):
            v = _num(raw)
            if v is None:
                continue
            tip = f"{line['name']} · {labels[i]}: {value_format(v)}"
            extra = line.get("notes", [None] * len(labels))[i]
            if extra:
                tip += f" ({extra})"
            out.append(
                f'<circle class="point" cx="{frame.x(i):.1f}" cy="{frame.y(v):.1f}" r="3.5" '
                f'fill="{colour}"><title>{esc(tip)}</title></circle>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    groups: Sequence[dict[str, Any]],
) -> str:
    """Grouped bars: per period one `rect.bar` per series (height = records), with the
    series' errors as a `rect.bar-error` drawn over its foot."""
    totals = [_num(x) or 0.0 for g in groups for x in g["records"]]
    if not labels or not groups or max(totals, default=0.0) <= 0:
        return _no_data(chart_id, title)
    frame = _Frame(labels, nice_max(max(totals)), bars=True)
    width = frame.slot * 0.8 / len(groups)
    out = [
        _svg_open(
            chart_id,
            title,
            f"Records and errors in {len(labels)} periods for "
            + ", ".join(g["name"] for g in groups)
            + ".",
        )
    ]
    out += frame.axes(_fmt_num)
    for index, group in enumerate(groups):
        out.append(f'<g class="series" data-series="{index}" data-name="{esc(group["name"])}">')
        for i in range(len(labels)):
            records = _num(group["records"][i]) or 0.0
            errors = _num(group["errors"][i]) or 0.0
            x = frame.x(i) - frame.slot * 0.4 + width * index
            y = frame.y(records)
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{frame.y0 - y:.1f}" fill="{group["colour"]}">'
                f"<title>{esc(group['name'])} · {esc(labels[i])}: {fmt_int(records)} records, "
                f"{fmt_int(errors)} errors</title></rect>"
            )
            if errors > 0:
                ye = frame.y(errors)
                out.append(
                    f'<rect class="bar-error" x="{x:.1f}" y="{ye:.1f}" width="{width:.1f}" '
                    f'height="{frame.y0 - ye:.1f}" fill="{ERROR_COLOUR}">'
                    f"<title>{esc(group['name'])} · {esc(labels[i])}: {fmt_int(errors)} "
                    "errors</title></rect>"
                )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def sparkline(chart_id: str, title: str, values: Sequence[Any], width: int = 160) -> str:
    """A small trend line (`polyline.spark`, one `circle.point` per period)."""
    height, pad = 28, 3
    nums = [_num(v) or 0.0 for v in values]
    top = max(nums, default=0.0) or 1.0
    n = len(nums)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * v / top

    out = [
        f'<svg id="{esc(chart_id)}" class="spark" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{esc(chart_id)}-title">'
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>'
    ]
    if n > 1:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(nums))
        out.append(f'<polyline class="spark-line" points="{coords}" fill="none"/>')
    for i, v in enumerate(nums):
        out.append(f'<circle class="point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="1.8"/>')
    out.append("</svg>")
    return "".join(out)


# -- the page -----------------------------------------------------------------------------------


def trend(values: Sequence[Any]) -> tuple[str, str]:
    """(arrow, word) comparing the later half of the periods with the earlier half."""
    nums = [_num(v) or 0.0 for v in values]
    if len(nums) < 2:
        return "→", "flat"
    half = len(nums) // 2
    early, late = sum(nums[:half]), sum(nums[len(nums) - half :])
    if late > early:
        return "↑", "rising"
    if late < early:
        return "↓", "falling"
    return "→", "flat"


def _bucket_values(series: dict[str, Any], field: str, starts: Sequence[Any]) -> list[Any]:
    """The series' `field` per report period (None where the series has no such period)."""
    by_start = {str(b.get("start")): b for b in series.get("buckets") or []}
    return [(by_start.get(str(s)) or {}).get(field) for s in starts]


def _counts_note(series: dict[str, Any], field: str, starts: Sequence[Any]) -> list[str | None]:
    return [None if n is None else f"n={fmt_int(n)}" for n in _bucket_values(series, field, starts)]


def _table(headers: Iterable[tuple[str, str]], rows: Iterable[str], table_id: str) -> str:
    head = "".join(f'<th class="{cls}" scope="col">{esc(h)}</th>' for h, cls in headers)
    body = "".join(rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _series_rows(series: list[dict[str, Any]]) -> list[str]:
    rows = []
    for index, s in enumerate(series):
        t = s.get("totals") or {}
        colour = PALETTE[index % len(PALETTE)]
        rows.append(
            "<tr>"
            f'<th scope="row"><span class="swatch" style="background:{colour}"></span>'
            f"{esc(series_name(s.get('key')))}</th>"
            f'<td class="num">{fmt_int(t.get("records"))}</td>'
            f'<td class="num">{fmt_pct(t.get("satisfaction"))} '
            f'<span class="n">n={fmt_int(t.get("feedback_n"))}</span></td>'
            f'<td class="num">{fmt_pct(t.get("pass_rate"))} '
            f'<span class="n">n={fmt_int(t.get("reviews_n"))}</span></td>'
            f'<td class="num">{fmt_int(t.get("errors"))} '
            f'<span class="n">{fmt_pct(t.get("error_rate"))}</span></td>'
            f'<td class="num">{fmt_ms(t.get("latency_p50"))}</td>'
            f'<td class="num">{fmt_ms(t.get("latency_p95"))}</td>'
            f'<td class="num">{fmt_int(t.get("input_tokens"))}</td>'
            f'<td class="num">{fmt_int(t.get("output_tokens"))}</td>'
            f'<td class="num">{fmt_cost(t.get("cost_usd"))}</td>'
            "</tr>"
        )
    return rows


def _theme_rows(themes: list[dict[str, Any]], labels: Sequence[str]) -> list[str]:
    rows = []
    for index, t in enumerate(themes):
        per = list(t.get("per_bucket") or [])
        arrow, word = trend(per)
        name = str(t.get("theme"))
        spark = sparkline(
            f"spark-theme-{index}",
            f"Theme {name} per period" + (f" ({labels[0]} to {labels[-1]})" if labels else ""),
            per,
        )
        rows.append(
            "<tr>"
            f'<th scope="row">{esc(name)}</th>'
            f'<td class="num">{fmt_int(t.get("total"))}</td>'
            f"<td>{spark}</td>"
            f'<td class="trend {word}" title="{word}">{arrow} {word}</td>'
            "</tr>"
        )
    return rows


def _coverage_rows(coverage: list[dict[str, Any]]) -> list[str]:
    rows = []
    for c in coverage:
        gap = bool(c.get("gap"))
        flag = '<span class="badge">gap: no dataset items</span>' if gap else ""
        rows.append(
            f'<tr class="{"gap" if gap else "covered"}">'
            f'<th scope="row">{esc(c.get("theme"))}</th>'
            f'<td class="num">{fmt_int(c.get("reviewed"))}</td>'
            f'<td class="num">{fmt_int(c.get("dataset_items"))}</td>'
            f'<td class="num">{fmt_pct(c.get("eval_pass_rate"))}</td>'
            f"<td>{flag}</td>"
            "</tr>"
        )
    return rows


def _trace_section(traces: dict[str, Any], labels: Sequence[str]) -> list[str]:
    """The figures per agent trace: three charts over the periods, the totals, the tool error
    rate per tool and where failing traces went wrong."""
    buckets = list(traces.get("buckets") or [])
    colours = PALETTE

    def values(field: str) -> list[Any]:
        return [b.get(field) for b in buckets]

    def chart(chart_id: str, lines: list[dict[str, Any]], ticks: Any, shown: Any) -> str:
        title = TRACE_CHARTS[chart_id]
        return (
            "<figure>"
            + line_chart(chart_id, title, labels, lines, tick_format=ticks, value_format=shown)
            + f"<figcaption>{esc(title)}</figcaption></figure>"
        )

    def pair(field: str) -> list[dict[str, Any]]:
        return [
            {"name": "p50", "colour": colours[0], "values": values(f"{field}_p50")},
            {"name": "p95", "colour": colours[0], "dashed": True, "values": values(f"{field}_p95")},
        ]

    def usd_tick(v: float) -> str:
        return f"${v:g}"

    t = traces.get("totals") or {}
    totals = (
        "<tr>"
        f'<td class="num">{fmt_int(t.get("traces"))}</td>'
        f'<td class="num">{_fmt_steps(t.get("steps_p50"))} / {_fmt_steps(t.get("steps_p95"))} / '
        f"{fmt_int(t.get('steps_max'))}</td>"
        f'<td class="num">{fmt_int(t.get("tokens_p50"))} / {fmt_int(t.get("tokens_p95"))}</td>'
        f'<td class="num">{fmt_int(t.get("tokens"))}</td>'
        f'<td class="num">{fmt_cost(t.get("cost_p50"))} / {fmt_cost(t.get("cost_p95"))}</td>'
        f'<td class="num">{fmt_cost(t.get("cost_usd"))}</td>'
        f'<td class="num">{fmt_int(t.get("tool_errors"))} of {fmt_int(t.get("tool_calls"))} '
        f'<span class="n">{fmt_pct(t.get("tool_error_rate"))}</span></td>'
        f'<td class="num">{fmt_int(t.get("reviews_fail"))} of {fmt_int(t.get("reviews_n"))}</td>'
        f'<td class="num">{fmt_int(t.get("marked"))}</td>'
        "</tr>"
    )
    tool_rows = []
    for index, tool in enumerate(traces.get("tools") or []):
        name = str(tool.get("name"))
        tool_rows.append(
            "<tr>"
            f'<th scope="row">{esc(name)}</th>'
            f'<td class="num">{fmt_int(tool.get("calls"))}</td>'
            f'<td class="num">{fmt_int(tool.get("errors"))}</td>'
            f'<td class="num">{fmt_pct(tool.get("error_rate"))}</td>'
            f"<td>{sparkline(f'spark-tool-{index}', f'Errors of {name} per period', tool.get('errors_per_bucket') or [])}</td>"
            "</tr>"
        )
    marked_rows = []
    for group, rows in (("kind", "marked_kinds"), ("tool", "marked_tools")):
        for index, row in enumerate(traces.get(rows) or []):
            key = str(row.get("key"))
            spark = sparkline(
                f"spark-marked-{group}-{index}",
                f"Failing traces marked at a {group} {key} per period",
                row.get("per_bucket") or [],
            )
            marked_rows.append(
                f'<tr><td>{group}</td><th scope="row">{esc(key)}</th>'
                f'<td class="num">{fmt_int(row.get("total"))}</td><td>{spark}</td></tr>'
            )
    return [
        '<section id="traces"><h2>Traces</h2>',
        '<p class="note">Agent runs (a trace with a step that is not an LLM call, or several '
        "steps under one trace id; chat sessions are left out) by the day they started; tool "
        "steps by their own time; trace reviews by the reviewed trace's time.</p>",
        chart(
            "chart-trace-steps",
            [
                *pair("steps"),
                {"name": "max", "colour": colours[1], "values": values("steps_max")},
            ],
            _fmt_num,
            _fmt_steps,
        ),  # fmt: skip
        chart("chart-trace-tokens", pair("tokens"), _fmt_num, fmt_int),
        chart("chart-trace-cost", pair("cost"), usd_tick, fmt_cost),
        _table(
            [
                ("traces", "num"),
                ("steps p50 / p95 / max", "num"),
                ("tokens p50 / p95", "num"),
                ("tokens", "num"),
                ("cost p50 / p95", "num"),
                ("cost", "num"),
                ("tool errors", "num"),
                ("failed reviews", "num"),
                ("marked steps", "num"),
            ],
            [totals],
            "table-trace-totals",
        ),
        "<h2>Tool error rate per tool</h2>",
        _table(
            [
                ("tool", ""),
                ("calls", "num"),
                ("errors", "num"),
                ("rate", "num"),
                ("errors per period", ""),
            ],
            tool_rows or ['<tr><td colspan="5">no tool calls in this period</td></tr>'],
            "table-tools",
        ),
        "<h2>Where failing traces went wrong</h2>",
        '<p class="note">The step a reviewer marked on a failing trace, by its kind and, for '
        "tools, by name.</p>",
        _table(
            [("by", ""), ("step", ""), ("failing traces", "num"), ("per period", "")],
            marked_rows or ['<tr><td colspan="4">no failing trace review marked a step</td></tr>'],
            "table-marked",
        ),
        "</section>",
    ]


def _fmt_steps(value: Any) -> str:
    f = _num(value)
    return "–" if f is None else f"{f:g}" if f == int(f) else f"{f:.1f}"


_CSS = """
:root { color-scheme: light; --fg:#1d2329; --muted:#5b6670; --line:#d9dee3; --bg:#ffffff;
  --soft:#f4f6f8; --gap:#fff1e6; --gapfg:#a04000; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { padding: 20px 28px 14px; border-bottom: 1px solid var(--line); background: var(--soft); }
header h1 { margin: 0 0 6px; font-size: 22px; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 0; color: var(--muted); }
header dt { font-weight: 600; } header dd { margin: 0 0 0 6px; }
header .pair { display: flex; }
main { padding: 8px 28px 40px; max-width: 1100px; }
section { margin: 26px 0; }
h2 { font-size: 17px; margin: 0 0 8px; }
p.note { color: var(--muted); margin: 0 0 10px; }
figure { margin: 0 0 8px; } figcaption { color: var(--muted); font-size: 12px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .tick { fill: var(--muted); font-size: 11px; }
svg .empty { fill: var(--muted); font-size: 14px; }
svg.spark .spark-line { stroke: #0072b2; stroke-width: 1.5; }
svg.spark .point { fill: #0072b2; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 4px 0 6px; font-size: 13px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 6px; vertical-align: -1px; }
.swatch.dashed { background: repeating-linear-gradient(90deg, #777 0 4px, transparent 4px 7px); }
table { border-collapse: collapse; width: 100%; margin: 4px 0; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: middle; }
thead th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
#table-totals th[scope=row] { white-space: nowrap; }
.n { color: var(--muted); font-size: 12px; }
tr.gap { background: var(--gap); }
.badge { color: var(--gapfg); font-weight: 600; }
.trend.rising { color: #b03a2e; } .trend.falling { color: #1e8449; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; }
@media print { header { background: none; } section { break-inside: avoid; } }
"""


def _legend(items: Iterable[tuple[str, str, bool]]) -> str:
    spans = "".join(
        f'<span><span class="swatch dashed"></span>{esc(name)}</span>'
        if dashed
        else f'<span><span class="swatch" style="background:{colour}"></span>{esc(name)}</span>'
        for name, colour, dashed in items
    )
    return f'<div class="legend">{spans}</div>'


def render_report(
    data: dict[str, Any],
    *,
    title: str,
    generated_at: str,
    workspace: str | None = None,
) -> str:
    """The whole HTML page for an insights dict (see the module docstring)."""
    starts = list(data.get("buckets") or [])
    labels = [bucket_label(s) for s in starts]
    series = list(data.get("series") or [])
    themes = list(data.get("themes") or [])
    coverage = list(data.get("coverage") or [])
    names = [series_name(s.get("key")) for s in series]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    bucket = data.get("bucket") or "period"
    by = data.get("by")
    period = f"{labels[0]} to {labels[-1]}" if labels else "no records"

    def lines(field: str, count_field: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "name": names[i],
                "colour": colours[i],
                "values": _bucket_values(s, field, starts),
                "notes": _counts_note(s, count_field, starts)
                if count_field
                else [None] * len(starts),
            }
            for i, s in enumerate(series)
        ]

    latency: list[dict[str, Any]] = []
    for i, s in enumerate(series):
        latency.append(
            {
                "name": f"{names[i]} p50",
                "colour": colours[i],
                "values": _bucket_values(s, "latency_p50", starts),
            }
        )
        latency.append(
            {
                "name": f"{names[i]} p95",
                "colour": colours[i],
                "dashed": True,
                "values": _bucket_values(s, "latency_p95", starts),
            }
        )
    volume = [
        {
            "name": names[i],
            "colour": colours[i],
            "records": _bucket_values(s, "records", starts),
            "errors": _bucket_values(s, "errors", starts),
        }
        for i, s in enumerate(series)
    ]
    legend = _legend((n, c, False) for n, c in zip(names, colours, strict=True))
    gaps = sum(1 for c in coverage if c.get("gap"))

    def pct_tick(v: float) -> str:
        return f"{v * 100:.0f}%"

    meta = [("Workspace", workspace)] if workspace else []
    meta += [
        ("Period", f"{period} ({len(labels)} {bucket}{'s' if len(labels) != 1 else ''})"),
        ("Split by", by or "-"),
        ("Generated", generated_at),
    ]
    header_meta = "".join(
        f'<div class="pair"><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>' for k, v in meta
    )

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f'<header><h1 id="report-title">{esc(title)}</h1><dl>{header_meta}</dl></header>',
        "<main>",
        '<section id="satisfaction"><h2>Satisfaction</h2>',
        '<p class="note">Logged user feedback (share positive, score ≥ 0.5) and reviewer verdicts '
        "(share pass among current reviews) per period; the tooltips give each count.</p>",
        legend,
        "<figure>"
        + line_chart(
            "chart-satisfaction",
            CHARTS["chart-satisfaction"],
            labels,
            lines("satisfaction", "feedback_n"),
            top=1.0,
            tick_format=pct_tick,
            value_format=fmt_pct,
        )
        + f"<figcaption>{esc(CHARTS['chart-satisfaction'])}</figcaption></figure>",
        "<figure>"
        + line_chart(
            "chart-pass-rate",
            CHARTS["chart-pass-rate"],
            labels,
            lines("pass_rate", "reviews_n"),
            top=1.0,
            tick_format=pct_tick,
            value_format=fmt_pct,
        )
        + f"<figcaption>{esc(CHARTS['chart-pass-rate'])}</figcaption></figure>",
        "</section>",
        '<section id="volume"><h2>Volume and errors</h2>',
        legend,
        "<figure>"
        + bar_chart("chart-volume", CHARTS["chart-volume"], labels, volume)
        + f"<figcaption>{esc(CHARTS['chart-volume'])}; errors in red at the foot of each "
        "bar.</figcaption></figure>",
        "</section>",
        '<section id="latency"><h2>Latency</h2>',
        _legend(
            [(n, c, False) for n, c in zip(names, colours, strict=True)]
            + [("p95 (dashed)", "#777", True)]
        ),
        "<figure>"
        + line_chart(
            "chart-latency",
            CHARTS["chart-latency"],
            labels,
            latency,
            tick_format=_ms_tick,
            value_format=fmt_ms,
        )
        + f"<figcaption>{esc(CHARTS['chart-latency'])}</figcaption></figure>",
        "</section>",
        f'<section id="totals"><h2>Totals by {esc(by or "series")}</h2>',
        _table(
            [
                (by or "series", ""),
                ("records", "num"),
                ("satisfaction", "num"),
                ("pass rate", "num"),
                ("errors", "num"),
                ("latency p50", "num"),
                ("latency p95", "num"),
                ("input tokens", "num"),
                ("output tokens", "num"),
                ("cost", "num"),
            ],
            _series_rows(series) or ['<tr><td colspan="10">no records in this period</td></tr>'],
            "table-totals",
        ),
        "</section>",
        '<section id="themes"><h2>Failure themes</h2>',
        '<p class="note">Current reviews carrying each theme, per period; the trend compares '
        "the later half of the periods with the earlier half.</p>",
        _table(
            [("theme", ""), ("reviews", "num"), ("per period", ""), ("trend", "")],
            _theme_rows(themes, labels) or ['<tr><td colspan="4">no themes yet</td></tr>'],
            "table-themes",
        ),
        "</section>",
        '<section id="coverage"><h2>Theme coverage</h2>',
        f'<p class="note">{gaps} theme{"s" if gaps != 1 else ""} with reviews but no dataset '
        "items (highlighted): the gap the next prompt change should close.</p>",
        _table(
            [
                ("theme", ""),
                ("reviewed", "num"),
                ("dataset items", "num"),
                ("latest eval pass rate", "num"),
                ("", ""),
            ],
            _coverage_rows(coverage) or ['<tr><td colspan="5">no themes yet</td></tr>'],
            "table-coverage",
        ),
        "</section>",
        *(_trace_section(data["traces"], labels) if data.get("traces") else []),
        "</main>",
        f"<footer>Made by reviewer on {esc(generated_at)}. This file is self-contained: it "
        "loads nothing from the network.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(
    engine: Any,
    path: str | Path,
    *,
    title: str = "LLM insights",
    workspace: str | None = None,
    generated_at: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Compute the insights (`options` go to `metrics.insights`: bucket, by, ...), render them
    and write the page to `path` (atomically: a reader never sees half a file). Returns the
    insights dict the page was made from."""
    from reviewer.insights.metrics import insights

    data = insights(engine, **options).to_dict()
    data.setdefault("bucket", options.get("bucket"))
    data.setdefault("by", options.get("by"))
    if generated_at is None:
        generated_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = render_report(data, title=title, generated_at=generated_at, workspace=workspace)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the page is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return data
