"""Server-side SVG charts: PR curves, confidence histograms, bar charts, reliability diagram.

Pure functions from plain numbers to an ``<svg>`` string (no JavaScript, no library), so pages
work offline under ``default-src 'self'`` and tests can assert on the markup. Colours come from
CSS classes (``series-N``) plus presentation attributes, so the SVG renders on its own too.
Every mark carries ``data-*`` values and a ``<title>`` tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predscope.ui.svg import attrs, num, text

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
DASHES = (None, "6 3", "2 2", "8 3 2 3")  # a second cue beside colour for colour-blind readers
TP_COLOUR, FP_COLOUR = "#2ecc71", "#ff3b30"


@dataclass(frozen=True)
class Curve:
    """One class's precision-recall curve and its operating point (NaN/None if none)."""

    name: str
    recall: tuple[float, ...]
    precision: tuple[float, ...]
    threshold: float | None = None  # the confidence of the operating point
    point_recall: float | None = None
    point_precision: float | None = None
    ap: float | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str | None = None
    note: str = ""  # e.g. "n=120", shown after the value


@dataclass(frozen=True)
class _Frame:
    """A plot area inside a width x height SVG, mapping data [x0, x1] x [y0, y1] to pixels."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0

    def x(self, v: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (v - self.x0) / span * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return (
            self.height
            - self.bottom
            - (v - self.y0) / span * (self.height - self.top - self.bottom)
        )


def _open(kind: str, f: _Frame, title: str, testid: str | None) -> list[str]:
    head = attrs(
        class_=f"chart chart-{kind}",
        viewBox=f"0 0 {f.width} {f.height}",
        role="img",
        aria_label=title,
        data_testid=testid,
    )
    return [f"<svg{head}><title>{text(title)}</title>"]


def _axes(
    f: _Frame,
    x_label: str,
    y_label: str,
    x_ticks: Sequence[float],
    y_ticks: Sequence[float],
    fmt: str = "{:g}",
) -> list[str]:
    out = ['<g class="axes" fill="currentColor" font-size="11">']
    for v in y_ticks:
        y = num(f.y(v))
        out.append(
            f'<line class="grid"{attrs(x1=f.left, x2=f.width - f.right, y1=y, y2=y)}'
            ' stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text{attrs(x=f.left - 5, y=num(f.y(v) + 4))} text-anchor="end">'
            f"{text(fmt.format(v))}</text>"
        )
    base = f.height - f.bottom
    for v in x_ticks:
        x = num(f.x(v))
        out.append(
            f'<line class="tick"{attrs(x1=x, x2=x, y1=base, y2=base + 4)} stroke="currentColor"/>'
            f'<text{attrs(x=x, y=base + 16)} text-anchor="middle">{text(fmt.format(v))}</text>'
        )
    out.append(
        f'<line{attrs(x1=f.left, x2=f.width - f.right, y1=base, y2=base)} stroke="currentColor"/>'
        f'<line{attrs(x1=f.left, x2=f.left, y1=f.top, y2=base)} stroke="currentColor"/>'
        f'<text class="axis-label"{attrs(x=num((f.left + f.width - f.right) / 2), y=f.height - 4)}'
        f' text-anchor="middle">{text(x_label)}</text>'
        f'<text class="axis-label"{attrs(x=12, y=num((f.top + base) / 2))} text-anchor="middle"'
        f"{attrs(transform=f'rotate(-90 12 {num((f.top + base) / 2)})')}>{text(y_label)}</text>"
        "</g>"
    )
    return out


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}"


def pr_curves_chart(
    curves: Sequence[Curve],
    *,
    title: str = "Precision-recall",
    width: int = 460,
    height: int = 340,
    testid: str | None = "pr-curves",
    ap_label: str = "AP",
) -> str:
    """One line per class, precision over recall, with the operating point marked as a circle.

    The legend names each class with its AP (``ap_label``: "AP50" for a curve at IoU 0.5);
    colour and dash pattern both identify a class.
    """
    f = _Frame(width, height, 48, 140, 14, 38)
    ticks = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    out = _open("pr", f, title, testid)
    out += _axes(f, "recall", "precision", ticks, ticks)
    for i, c in enumerate(curves):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE) + i) % len(DASHES)]
        pts = [
            (r, p)
            for r, p in zip(c.recall, c.precision, strict=True)
            if math.isfinite(r) and math.isfinite(p)
        ]
        step = _step_points(pts)
        group = attrs(class_=f"series series-{i}", data_class=c.name, data_ap=_fmt(c.ap))
        out.append(f"<g{group}>")
        if step:
            coords = " ".join(f"{num(f.x(r))},{num(f.y(p))}" for r, p in step)
            out.append(
                f"<polyline{attrs(points=coords, stroke=colour, stroke_dasharray=dash)}"
                ' fill="none" stroke-width="2"/>'
            )
        if (
            c.point_recall is not None
            and c.point_precision is not None
            and math.isfinite(c.point_recall)
            and math.isfinite(c.point_precision)
        ):
            tip = (
                f"{c.name}: operating point at confidence {_fmt(c.threshold)}: "
                f"precision {_fmt(c.point_precision)}, recall {_fmt(c.point_recall)}"
            )
            out.append(
                f'<circle class="operating-point"{attrs(cx=num(f.x(c.point_recall)))}'
                f"{attrs(cy=num(f.y(c.point_precision)), data_testid=f'op-{c.name}')}"
                f"{attrs(data_threshold=_fmt(c.threshold, 4), fill=colour)}"
                f' r="5" stroke="#fff" stroke-width="1.5"><title>{text(tip)}</title></circle>'
            )
        ly = f.top + 8 + i * 18
        lx = width - f.right + 10
        out.append(
            f"<line{attrs(x1=lx, x2=lx + 22, y1=ly, y2=ly, stroke=colour, stroke_dasharray=dash)}"
            ' stroke-width="2"/>'
            f'<text class="legend"{attrs(x=lx + 28, y=ly + 4)} fill="currentColor" font-size="11">'
            f"{text(c.name)} ({text(ap_label)} {_fmt(c.ap)})</text></g>"
        )
    if not curves:
        out.append(_empty(f, "no classes with ground truth"))
    out.append("</svg>")
    return "".join(out)


def _step_points(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Raw curve points as a staircase: precision holds until recall next moves."""
    if not pts:
        return []
    out = [(0.0, pts[0][1])]
    for r, p in pts:
        out.append((r, out[-1][1]))
        out.append((r, p))
    return out


def _empty(f: _Frame, message: str) -> str:
    x, y = num((f.left + f.width - f.right) / 2), num((f.top + f.height - f.bottom) / 2)
    return (
        f'<text class="empty"{attrs(x=x, y=y)} text-anchor="middle" fill="currentColor">'
        f"{text(message)}</text>"
    )


def confidence_histogram(
    tp_scores: Sequence[float],
    fp_scores: Sequence[float],
    *,
    bins: int = 10,
    title: str = "Confidence of TP and FP predictions",
    width: int = 460,
    height: int = 240,
    testid: str | None = "confidence-histogram",
) -> str:
    """TP and FP counts per confidence bin, side by side (TP green solid, FP red hatched-dots).

    The range is [0, 1] when every score is a probability, else the scores' own range (some
    detectors, e.g. Haar cascades, give unbounded scores).
    """
    tp = np.asarray(tp_scores, dtype=np.float64)
    fp = np.asarray(fp_scores, dtype=np.float64)
    allv = np.concatenate((tp, fp))
    lo, hi = (0.0, 1.0)
    if allv.size and (allv.min() < 0 or allv.max() > 1):
        lo, hi = float(allv.min()), float(allv.max())
        hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    tp_n = np.histogram(tp, edges)[0]
    fp_n = np.histogram(fp, edges)[0]
    top = max(1, int(max(tp_n.max(initial=0), fp_n.max(initial=0))))
    f = _Frame(width, height, 44, 12, 26, 38, lo, hi, 0.0, float(top))
    out = _open("histogram", f, title, testid)
    out += _axes(f, "confidence", "predictions", _round_ticks(lo, hi), _int_ticks(top))
    slot = (f.x(edges[1]) - f.x(edges[0])) if bins else 0.0
    for b in range(bins):
        for k, (name, counts, colour) in enumerate(
            (("tp", tp_n, TP_COLOUR), ("fp", fp_n, FP_COLOUR))
        ):
            n = int(counts[b])
            x = f.x(edges[b]) + slot * (0.1 + 0.4 * k)
            y = f.y(n)
            tip = f"{name.upper()}: {n} with confidence in [{edges[b]:.3g}, {edges[b + 1]:.3g})"
            pattern = "" if k == 0 else ' stroke="#fff" stroke-dasharray="2 2" stroke-width="1"'
            out.append(
                f'<rect class="bar {name}"{attrs(x=num(x), y=num(y), width=num(slot * 0.4))}'
                f"{attrs(height=num(f.y(0) - y), fill=colour, data_count=n, data_bin=b)}"
                f"{pattern}><title>{text(tip)}</title></rect>"
            )
    out.append(_legend_pair(width - 12, 14))
    out.append("</svg>")
    return "".join(out)


def _legend_pair(right: int, y: int) -> str:
    return (
        '<g class="legend" font-size="11" fill="currentColor">'
        f"<rect{attrs(x=right - 110, y=y - 9, width=10, height=10, fill=TP_COLOUR)}/>"
        f"<text{attrs(x=right - 96, y=y)}>TP</text>"
        f"<rect{attrs(x=right - 60, y=y - 9, width=10, height=10, fill=FP_COLOUR)}"
        ' stroke="#fff" stroke-dasharray="2 2"/>'
        f"<text{attrs(x=right - 46, y=y)}>FP</text></g>"
    )


def _nice(lo: float, hi: float, n: int = 5) -> list[float]:
    return [float(v) for v in np.round(np.linspace(lo, hi, n + 1), 6)]


def _round_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """The range's two ends and round ticks between them, about ``n`` steps apart: multiples of
    1, 2, 2.5 or 5 times a power of ten (0, 0.2, ... 1 for confidences; 0.44, 2, 4, 6, 7.4477 for
    a detector's scores), where ``_nice``'s even split of such a range reads 1.68138. A round
    tick within half a step of an end gives way to the end."""
    step = _nice_ceiling((hi - lo) / n) if hi > lo else 1.0
    first = math.ceil(lo / step - 1e-9)
    count = math.floor(hi / step + 1e-9) - first + 1
    inner = [round((first + i) * step, 10) for i in range(max(count, 0))]
    keep = [t for t in inner if t - lo > step / 2 and hi - t > step / 2]
    return [lo, *keep, hi] if hi > lo else [lo]


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (times a power of ten) at or above ``value`` (1 for 0)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(value))
    return next(m * base for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * base >= value * (1 - 1e-12))


def _int_ticks(top: int) -> list[float]:
    step = max(1, math.ceil(top / 4))
    return [float(v) for v in range(0, top + 1, step)]


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    value_label: str = "",
    digits: int = 3,
    domain: tuple[float, float] | None = None,
    width: int = 460,
    testid: str | None = None,
) -> str:
    """Horizontal bars, one per item (per-class AP, TIDE dAP per error type, a property bucket).

    Negative values extend left of zero. A bar with ``href`` is a link (to the objects behind it).
    """
    row, label_w = 22, min(180, 20 + 7 * max((len(b.label) for b in bars), default=4))
    height = 30 + row * max(1, len(bars)) + 26
    values = [b.value for b in bars if math.isfinite(b.value)]
    lo, hi = domain or (min(0.0, *values) if values else 0.0, max(0.0, *values) if values else 1.0)
    hi = hi if hi > lo else lo + 1.0
    if domain is None and lo == 0.0:
        hi = _nice_ceiling(hi)  # round ticks (0, 0.1, ... 0.5), not fractions of the largest bar
    f = _Frame(width, height, label_w, 70, 22, 26, lo, hi, 0.0, 1.0)
    out = _open("bars", f, title, testid)
    out.append('<g class="axes" fill="currentColor" font-size="11">')
    for v in _nice(lo, hi, 4):
        x = num(f.x(v))
        out.append(
            f"<line{attrs(x1=x, x2=x, y1=f.top - 4, y2=height - f.bottom)}"
            ' stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text{attrs(x=x, y=height - f.bottom + 14)} text-anchor="middle">{v:g}</text>'
        )
    out.append(f'<text class="axis-label"{attrs(x=f.left, y=14)}>{text(value_label)}</text></g>')
    zero = f.x(max(lo, min(0.0, hi)))
    for i, b in enumerate(bars):
        y = f.top + i * row
        v = b.value if math.isfinite(b.value) else 0.0
        x0, x1 = sorted((zero, f.x(v)))
        shown = _fmt(b.value, digits) + (f" {b.note}" if b.note else "")
        colour = PALETTE[0] if v >= 0 else PALETTE[3]
        bar = (
            f'<rect class="bar"{attrs(x=num(x0), y=y + 3, width=num(max(x1 - x0, 0.5)))}'
            f"{attrs(height=row - 6, fill=colour, data_label=b.label)}"
            f"{attrs(data_value=_fmt(b.value, 6))}>"
            f"<title>{text(b.label)}: {text(shown)}</title></rect>"
        )
        if b.href:
            bar = f"<a{attrs(href=b.href)}>{bar}</a>"
        out.append(
            f'<text class="bar-label"{attrs(x=f.left - 6, y=y + row / 2 + 4)} text-anchor="end"'
            f' fill="currentColor" font-size="12">{text(b.label)}</text>{bar}'
            f'<text class="bar-value"{attrs(x=num(x1 + 4), y=y + row / 2 + 4)}'
            f' fill="currentColor" font-size="11">{text(shown)}</text>'
        )
    if not bars:
        out.append(_empty(f, "nothing to show"))
    out.append("</svg>")
    return "".join(out)


def reliability_diagram(
    edges: Sequence[float],
    accuracy: Sequence[float],
    confidence: Sequence[float],
    counts: Sequence[int],
    *,
    ece: float | None = None,
    title: str = "Calibration",
    width: int = 340,
    height: int = 300,
    testid: str | None = "reliability",
) -> str:
    """Accuracy per confidence bin against the diagonal of perfect calibration.

    A bar is the fraction of TP among the bin's predictions; the thin mark on it is the bin's
    mean confidence, so the gap between them is the miscalibration. Empty bins are left out.
    """
    f = _Frame(width, height, 46, 12, 24, 38)
    ticks = (0.0, 0.25, 0.5, 0.75, 1.0)
    label = title if ece is None or not math.isfinite(ece) else f"{title} (ECE {ece:.3f})"
    out = _open("reliability", f, label, testid)
    out += _axes(f, "confidence", "accuracy (fraction TP)", ticks, ticks)
    out.append(
        f'<line class="diagonal"{attrs(x1=num(f.x(0)), y1=num(f.y(0)), x2=num(f.x(1)))}'
        f'{attrs(y2=num(f.y(1)))} stroke="currentColor" stroke-dasharray="4 3"'
        ' stroke-opacity="0.6"/>'
    )
    for b in range(len(counts)):
        acc, conf, n = accuracy[b], confidence[b], int(counts[b])
        if n == 0 or not math.isfinite(acc):
            continue
        x0, x1 = f.x(edges[b]), f.x(edges[b + 1])
        tip = (
            f"[{edges[b]:.2f}, {edges[b + 1]:.2f}): {n} predictions, "
            f"accuracy {acc:.3f}, mean confidence {conf:.3f}"
        )
        out.append(
            f'<rect class="bar"{attrs(x=num(x0 + 1), y=num(f.y(acc)), width=num(x1 - x0 - 2))}'
            f"{attrs(height=num(f.y(0) - f.y(acc)), fill=PALETTE[0], data_count=n)}"
            f'{attrs(data_accuracy=_fmt(acc, 6))} fill-opacity="0.8"><title>{text(tip)}</title>'
            "</rect>"
            f'<line class="mean-confidence"{attrs(x1=num(x0 + 1), x2=num(x1 - 1))}'
            f'{attrs(y1=num(f.y(conf)), y2=num(f.y(conf)))} stroke="{PALETTE[1]}"'
            ' stroke-width="2.5"/>'
        )
    if ece is not None and math.isfinite(ece):
        out.append(
            f'<text class="ece"{attrs(x=f.left + 8, y=f.top + 12)} fill="currentColor"'
            f' font-size="12">ECE {ece:.3f}</text>'
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Delta:
    """A difference between two prediction sets (B - A) with its confidence interval."""

    label: str
    delta: float
    low: float | None = None
    high: float | None = None
    href: str | None = None


def delta_chart(
    deltas: Sequence[Delta],
    *,
    title: str = "Change per class (B - A)",
    digits: int = 3,
    width: int = 460,
    testid: str | None = "deltas",
) -> str:
    """A dot per item at its delta, a whisker for its interval, a line at zero.

    An item whose interval excludes zero is marked ``significant`` (filled dot, class
    ``better``/``worse``); one that straddles zero is a hollow dot, so the cue is not colour alone.
    """
    row, label_w = 22, min(180, 20 + 7 * max((len(d.label) for d in deltas), default=4))
    height = 30 + row * max(1, len(deltas)) + 26
    ends = [
        v for d in deltas for v in (d.delta, d.low, d.high) if v is not None and math.isfinite(v)
    ]
    reach = _nice_ceiling(max((abs(v) for v in ends), default=0.0))
    f = _Frame(width, height, label_w, 80, 22, 26, -reach * 1.05, reach * 1.05, 0.0, 1.0)
    out = _open("deltas", f, title, testid)
    out.append('<g class="axes" fill="currentColor" font-size="11">')
    for v in _nice(-reach, reach, 4):
        x = num(f.x(v))
        out.append(
            f"<line{attrs(x1=x, x2=x, y1=f.top - 4, y2=height - f.bottom)}"
            f' stroke="currentColor" stroke-opacity="{0.6 if v == 0 else 0.15}"/>'
            f'<text{attrs(x=x, y=height - f.bottom + 14)} text-anchor="middle">{v:+.3g}</text>'
        )
    out.append("</g>")
    for i, d in enumerate(deltas):
        cy = f.top + i * row + row / 2
        lo = d.low if d.low is not None and math.isfinite(d.low) else None
        hi = d.high if d.high is not None and math.isfinite(d.high) else None
        significant = lo is not None and hi is not None and (lo > 0 or hi < 0)
        kind = ("better" if d.delta > 0 else "worse") if significant else "unclear"
        colour = {"better": TP_COLOUR, "worse": FP_COLOUR, "unclear": "#9aa3b2"}[kind]
        interval = f" [{_fmt(lo, digits)}, {_fmt(hi, digits)}]" if lo is not None else ""
        shown = f"{d.delta:+.{digits}f}{interval}" if math.isfinite(d.delta) else "n/a"
        parts = [
            f"<g{attrs(class_=f'delta {kind}', data_label=d.label, data_delta=_fmt(d.delta, 6))}>",
            f'<text class="bar-label"{attrs(x=f.left - 6, y=num(cy + 4))} text-anchor="end"'
            f' fill="currentColor" font-size="12">{text(d.label)}</text>',
        ]
        if lo is not None and hi is not None:
            parts.append(
                f'<line class="interval"{attrs(x1=num(f.x(lo)), x2=num(f.x(hi)), y1=num(cy))}'
                f'{attrs(y2=num(cy), stroke=colour)} stroke-width="2"/>'
            )
        dot = (
            f'<circle class="point"{attrs(cx=num(f.x(d.delta)), cy=num(cy), r=5, stroke=colour)}'
            f'{attrs(fill=colour if significant else "none")} stroke-width="2">'
            f"<title>{text(d.label)}: {text(shown)}</title></circle>"
        )
        parts.append(f"<a{attrs(href=d.href)}>{dot}</a>" if d.href else dot)
        parts.append(
            f'<text class="bar-value"{attrs(x=width - f.right + 6, y=num(cy + 4))}'
            f' fill="currentColor" font-size="11">{text(shown.split(" ")[0])}</text></g>'
        )
        out.extend(parts)
    if not deltas:
        out.append(_empty(f, "nothing to compare"))
    out.append("</svg>")
    return "".join(out)
