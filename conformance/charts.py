"""Pictures for the reports, as inline SVG: no library, nothing fetched, nothing run.

Each function returns one `<svg>` element (its text escaped, its colours presentation attributes or classes of
`STYLE`, never a `style` attribute: the pages' Content-Security-Policy runs only their own hashed stylesheet) with a
`<title>` on every mark, which a browser shows on hover:

- `bars`: horizontal bars with their values (time per area, the slowest cases);
- `columns`: one stacked column per run with a mark on each (time per area, and the run's wall time);
- `lines`: series over the runs, gaps where a run has no value (request latency);
- `marks`: one mark per run in order, coloured by a class (the verdict timeline);
- `timeline`: a delivery case from its job's start, one lane per mailbox: each attempt's arrival and answer;
- `legend`: what each colour of a chart stands for.

The pages (`conformance.html`, `conformance.history`) add `STYLE` to their own stylesheet.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

STYLE = """
svg.chart{display:block;max-width:100%;height:auto;font:11px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:.3rem 0}svg.chart text{fill:#1f2328}svg.chart .axis{stroke:#8c959f;stroke-width:1}
svg.chart .grid{stroke:#d0d7de;stroke-width:1;stroke-dasharray:2 3}svg.chart .muted{fill:#57606a}
svg.chart .bar{fill:#54aeff}svg.chart .good{fill:#1a7f37;stroke:#1a7f37}svg.chart .bad{fill:#c62828;stroke:#c62828}
svg.chart .warn{fill:#9a6700;stroke:#9a6700}svg.chart .env{fill:#6639ba;stroke:#6639ba}
svg.chart .none{fill:#8c959f;stroke:#8c959f}svg.chart .job{fill:#0550ae;stroke:#0550ae}
svg.chart .wall{stroke:#1f2328;stroke-width:2}svg.chart .span{stroke-width:3}
svg.chart .line{fill:none;stroke-width:1.5}svg.chart a:hover circle,svg.chart a:hover rect{stroke:#1f2328;
stroke-width:2}
"""

PALETTE = ("#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#4d2d00", "#1b7c83", "#9a6700", "#cf222e",
           "#57606a", "#6e7781", "#0550ae")
FONT = 6.2  # px per character of the 11px font, for fitting labels
LEFT, TOP, BOTTOM = 72, 8, 22  # px of a plot with a seconds axis: the axis labels, above, the run labels


@dataclass(frozen=True)
class Bar:
    label: str
    value: float          # seconds
    note: str = ""        # the hover text (the label and value when empty)
    tone: str = "bar"     # a class of STYLE
    href: str = ""


@dataclass(frozen=True)
class Column:
    label: str                                            # under the column (shown where there is room)
    parts: dict[str, float] = field(default_factory=dict)  # series -> seconds, stacked in the order of `series`
    mark: float | None = None                             # a mark across the column (the run's wall time)
    note: str = ""                                        # the column's hover text (its parts say their own)
    href: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class Mark:
    label: str       # under the mark (shown where there is room)
    tone: str        # a class of STYLE
    note: str
    href: str = ""


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt: when it arrived and when its answer ended, seconds from the timeline's origin."""

    arrived: float
    answered: float
    tone: str
    note: str


@dataclass(frozen=True)
class Lane:
    label: str
    attempts: Sequence[Attempt]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def seconds(value: float) -> str:
    """A duration as people read it: 0 s, 840 µs, 12.3 ms, 4.25 s, 3 min 05 s (and before an origin: -12.3 ms)."""
    if value < 0:
        return "-" + seconds(-value)
    if value == 0:
        return "0 s"
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1000:.3g} ms"
    if value < 60:
        return f"{value:.3g} s"
    return f"{int(value // 60)} min {int(value % 60):02d} s"


def colour(number: int) -> str:
    return PALETTE[number % len(PALETTE)]


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}">{"".join(body)}</svg>')


def _linked(href: str, inner: str) -> str:
    return f'<a href="{esc(href)}">{inner}</a>' if href else inner


def _fit(text: str, width: float) -> str:
    most = max(4, int(width / FONT))
    return text if len(text) <= most else "…" + text[-(most - 1):]


def _scale(top: float) -> tuple[float, list[float]]:
    """A round top for an axis reaching `top`, and its grid values."""
    if top <= 0:
        return 1.0, [0.0, 0.5, 1.0]
    step = 10 ** math.floor(math.log10(top / 4))
    for factor in (1, 2, 2.5, 5, 10):
        if top / (step * factor) <= 4:
            step *= factor
            break
    if step >= 30:  # minutes: whole ones
        step = next(minutes for minutes in (30, 60, 120, 300, 600, 1200, 1800, 3600, 7200) if top / minutes <= 4
                    or minutes == 7200)
    count = math.ceil(top / step)
    return step * count, [step * n for n in range(count + 1)]


def bars(items: Sequence[Bar], *, label: str, width: int = 900, label_width: int = 330) -> str:
    """Horizontal bars, one per item, longest value the full width."""
    row, value_width = 20, 80
    top = max((item.value for item in items), default=0.0) or 1.0
    room = width - label_width - value_width
    body = []
    for number, item in enumerate(items):
        y = number * row
        length = max(1.0, room * item.value / top)
        note = item.note or f"{item.label}: {seconds(item.value)}"
        body.append(_linked(item.href, (
            f'<g><title>{esc(note)}</title><text x="{label_width - 6}" y="{y + 14}" text-anchor="end">'
            f'{esc(_fit(item.label, label_width - 10))}</text><rect class="{esc(item.tone)}" x="{label_width}" '
            f'y="{y + 3}" width="{length:.1f}" height="{row - 6}" rx="2"/><text x="{label_width + length + 5:.1f}" '
            f'y="{y + 14}" class="muted">{esc(seconds(item.value))}</text></g>')))
    return _svg(width, max(row, row * len(items)), body, label)


def _x_labels(labels: Sequence[str], x: Sequence[float], y: float, width: float) -> list[str]:
    """The labels under a row of marks or columns, as many as fit without overlapping, each inside the picture
    (`width`), the first and the last always."""
    placed: list[tuple[float, float, int]] = []  # left, right, index

    def place(n: int) -> tuple[float, float, int]:
        half = len(labels[n]) * FONT / 2
        centre = min(max(x[n], half + 2), width - half - 2)
        return centre - half, centre + half, n

    last = len(labels) - 1
    for n in range(len(labels)):
        box = place(n)
        if placed and box[0] < placed[-1][1] + 8:
            if n != last:
                continue
            while placed and len(placed) > 1 and box[0] < placed[-1][1] + 8:
                placed.pop()
        placed.append(box)
    return [f'<text x="{(left + right) / 2:.1f}" y="{y}" text-anchor="middle" class="muted">{esc(labels[n])}</text>'
            for left, right, n in placed]


def _seconds_axis(peak: float, height: int, width: int) -> tuple[Callable[[float], float], list[str]]:
    """A seconds axis at the left of a plot reaching `peak`, with its grid lines: where a value goes, and the
    axis's elements."""
    top, grid = _scale(peak)
    plot = height - BOTTOM - TOP

    def y(value: float) -> float:
        return TOP + plot - plot * value / top

    body = [f'<line class="grid" x1="{LEFT}" x2="{width - 5}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text x="{LEFT - 5}" y="{y(value) + 4:.1f}" text-anchor="end" class="muted">{esc(seconds(value))}'
            "</text>" for value in grid[1:]]
    body.append(f'<line class="axis" x1="{LEFT}" x2="{width - 5}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>')
    return y, body


def columns(items: Sequence[Column], series: Sequence[tuple[str, str]], *, label: str, height: int = 220,
            width: int = 1100) -> str:
    """One stacked column per item (`series`: (name, colour) in stacking order), a wall mark on each, a seconds
    axis at the left."""
    slot = (width - LEFT - 10) / max(1, len(items))
    bar = max(2.0, min(28.0, slot * 0.7))
    y, body = _seconds_axis(max((max(sum(item.parts.values()), item.mark or 0.0) for item in items), default=0.0),
                            height, width)
    centres = [LEFT + slot * (number + 0.5) for number in range(len(items))]
    for centre, item in zip(centres, items, strict=True):
        stacked, parts = 0.0, []
        for name, fill in series:
            value = item.parts.get(name, 0.0)
            if value <= 0:
                continue
            parts.append(f'<rect x="{centre - bar / 2:.1f}" y="{y(stacked + value):.1f}" width="{bar:.1f}" '
                         f'height="{y(stacked) - y(stacked + value):.1f}" fill="{esc(fill)}"><title>'
                         f"{esc(item.label)} {esc(name)}: {esc(seconds(value))}</title></rect>")
            stacked += value
        if item.mark is not None:
            parts.append(f'<line class="wall" x1="{centre - bar / 2 - 2:.1f}" x2="{centre + bar / 2 + 2:.1f}" '
                         f'y1="{y(item.mark):.1f}" y2="{y(item.mark):.1f}"><title>{esc(item.label)} wall time: '
                         f"{esc(seconds(item.mark))}</title></line>")
        if not parts:
            parts.append(f'<text x="{centre:.1f}" y="{y(0) - 4:.1f}" text-anchor="middle" class="muted">–</text>')
        body.append(_linked(item.href, f"<g><title>{esc(item.note)}</title>{''.join(parts)}</g>"))
    body += _x_labels([item.label for item in items], centres, height - 6, width)
    return _svg(width, height, body, label)


def lines(labels: Sequence[str], series: Sequence[Series], *, label: str, height: int = 200,
          width: int = 1100) -> str:
    """Each series as a line over the runs (a gap where a value is None), a point with its hover text on each
    value, a seconds axis at the left."""
    slot = (width - LEFT - 10) / max(1, len(labels))
    y, body = _seconds_axis(max((value for one in series for value in one.values if value is not None), default=0.0),
                            height, width)
    centres = [LEFT + slot * (number + 0.5) for number in range(len(labels))]
    for one in series:
        runs: list[list[str]] = [[]]
        points = []
        for number, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{centres[number]:.1f},{y(value):.1f}")
            points.append(f'<circle cx="{centres[number]:.1f}" cy="{y(value):.1f}" r="2.5" fill="{esc(one.colour)}">'
                          f"<title>{esc(labels[number])} {esc(one.name)}: {esc(seconds(value))}</title></circle>")
        dash = ' stroke-dasharray="4 3"' if one.dashed else ""
        body += [f'<polyline class="line" stroke="{esc(one.colour)}"{dash} points="{" ".join(run)}"/>'
                 for run in runs if len(run) > 1]
        body += points
    body += _x_labels(labels, centres, height - 6, width)
    return _svg(width, height, body, label)


def marks(items: Sequence[Mark], *, label: str, width: int = 1100) -> str:
    """One mark per item, in order, on a line: a verdict timeline."""
    left, height = 20, 56
    slot = (width - 2 * left) / max(1, len(items))
    radius = max(3.0, min(9.0, slot * 0.4))
    centres = [left + slot * (number + 0.5) for number in range(len(items))]
    body = [f'<line class="axis" x1="{left}" x2="{width - left}" y1="20" y2="20"/>']
    body += [_linked(item.href, f'<circle class="{esc(item.tone)}" cx="{centre:.1f}" cy="20" r="{radius:.1f}">'
                                f"<title>{esc(item.note)}</title></circle>")
             for centre, item in zip(centres, items, strict=True)]
    body += _x_labels([item.label for item in items], centres, height - 8, width)
    return _svg(width, height, body, label)


def timeline(lanes: Sequence[Lane], starts: Sequence[float], end: float, *, label: str, width: int = 900,
             label_width: int = 200) -> str:
    """A delivery case from its origin (0: its first job's start): the job starts (`starts`) as lines across every
    lane, each lane's attempts (a dot at the arrival, a bar to the end of the answer), the case's end (`end`)."""
    row, top_pad, bottom = 18, 14, 20
    times = [0.0, end, *starts, *(t for lane in lanes for a in lane.attempts for t in (a.arrived, a.answered))]
    low, high = min(times), max(times)
    span = (high - low) or 1.0
    room = width - label_width - 20
    height = top_pad + row * max(1, len(lanes)) + bottom

    def x(at: float) -> float:
        return label_width + room * (at - low) / span

    axis = top_pad + row * max(1, len(lanes))
    ended = f"the case ended {seconds(end)} after its job's start"
    body = [f'<line class="axis" x1="{label_width}" x2="{width - 20}" y1="{axis}" y2="{axis}"/>',
            f'<text x="{x(0):.1f}" y="{axis + 14}" text-anchor="middle" class="muted">0</text>',
            f'<text x="{width - 20}" y="{axis + 14}" text-anchor="end" class="muted">{esc(seconds(high))}</text>',
            (f'<line class="grid" x1="{x(end):.1f}" x2="{x(end):.1f}" y1="{top_pad - 8}" y2="{axis}"><title>'
             f"{esc(ended)}</title></line>")]
    for number, start in enumerate(starts):
        body.append(f'<g class="job"><title>job {number + 1} started at {esc(seconds(start))}</title><line '
                    f'class="job" x1="{x(start):.1f}" x2="{x(start):.1f}" y1="{top_pad - 4}" y2="{axis}" '
                    f'stroke-dasharray="3 2"/><path d="M{x(start) - 4:.1f},{top_pad - 10} h8 l-4,6 z"/></g>')
    for number, lane in enumerate(lanes):
        middle = top_pad + row * number + row / 2
        body.append(f'<text x="{label_width - 6}" y="{middle + 4:.1f}" text-anchor="end">'
                    f"{esc(_fit(lane.label, label_width - 10))}<title>{esc(lane.label)}</title></text>")
        if not lane.attempts:
            body.append(f'<text x="{label_width + 6}" y="{middle + 4:.1f}" class="muted">no delivery arrived</text>')
        for attempt in lane.attempts:
            parts = [f"<title>{esc(attempt.note)}</title>"]
            if attempt.answered > attempt.arrived:
                parts.append(f'<line class="span {esc(attempt.tone)}" x1="{x(attempt.arrived):.1f}" '
                             f'x2="{x(attempt.answered):.1f}" y1="{middle:.1f}" y2="{middle:.1f}"/>')
            parts.append(f'<circle class="{esc(attempt.tone)}" cx="{x(attempt.arrived):.1f}" cy="{middle:.1f}" '
                         'r="4.5"/>')
            parts.append(f'<rect class="{esc(attempt.tone)}" x="{x(attempt.answered) - 1:.1f}" y="{middle - 6:.1f}" '
                         'width="2" height="12"/>')
            body.append(f"<g>{''.join(parts)}</g>")
    return _svg(width, height, body, label)


def legend(items: Sequence[tuple[str, str]], *, width: int = 1100) -> str:
    """A swatch and a name per (name, colour), in rows."""
    row, gap = 18, 16
    body, x, y = [], 0.0, 0
    for name, fill in items:
        size = 14 + len(name) * FONT + gap
        if x and x + size > width:
            x, y = 0.0, y + row
        body.append(f'<rect x="{x:.1f}" y="{y + 4}" width="10" height="10" rx="2" fill="{esc(fill)}"/>'
                    f'<text x="{x + 14:.1f}" y="{y + 13}">{esc(name)}</text>')
        x += size
    return _svg(width, y + row + 2, body, "legend")
