"""SVG overlay of one frame: every object drawn over the image, styled by layer and outcome.

The SVG sits over an ``<img>`` with ``viewBox`` = the image's natural size, so it stays aligned at
any zoom. Strokes are ``non-scaling-stroke``: lines keep their screen width when zoomed. Colour
follows the usual convention (TP green, FP red, FN orange) and the line style carries the same
information for colour-blind users and greyscale prints:

==================  =========  ================
object              colour     line
==================  =========  ================
GT, matched (tp)    green      solid, 2 px
GT, missed (fn)     orange     solid, 3.5 px
prediction tp       green      long dashes
prediction fp       red        dots
ignored (crowd)     grey       sparse dots
not analysed        blue/violet solid / dashes
==================  =========  ================

Labels also spell the outcome ("FP face 0.64"). Bitmasks become an SVG path tracing the pixel
outline (not an ``<image>``): a ``data:`` image is blocked by ``default-src 'self'``, a path is
crisp at any zoom, takes the same stroke and dash as every other shape and the same CSS toggles.
Presentation attributes (not ``style``) so the CSP's ``style-src`` holds and the SVG also
renders on its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from predscope.ui.shapes import (
    Box,
    Keypoint,
    Mask,
    OverlayFrame,
    OverlayObject,
    Polygon,
    Polyline,
    RotatedBox,
    Shape,
    Skeleton,
    shape_extent,
)
from predscope.ui.svg import attrs, num, text


@dataclass(frozen=True)
class LineStyle:
    colour: str
    dash: str | None
    width: float


STYLES: dict[tuple[str, str], LineStyle] = {
    ("gt", "tp"): LineStyle("#2ecc71", None, 2.0),
    ("gt", "fn"): LineStyle("#ff9f1c", None, 3.5),
    ("gt", "ignored"): LineStyle("#a0a0a0", "1 5", 2.0),
    ("gt", "none"): LineStyle("#4cc9f0", None, 2.0),
    ("pred", "tp"): LineStyle("#2ecc71", "8 4", 2.0),
    ("pred", "fp"): LineStyle("#ff3b30", "2 3", 2.5),
    ("pred", "ignored"): LineStyle("#a0a0a0", "1 5", 2.0),
    ("pred", "none"): LineStyle("#c77dff", "8 4", 2.0),
}
LAYER_NAMES = {"gt": "ground truth", "pred": "prediction"}


def line_style(obj: OverlayObject) -> LineStyle:
    """How an object's outline is drawn (the table in the module docstring)."""
    key = (obj.layer, obj.outcome or "none")
    return STYLES.get(key, STYLES[(obj.layer, "none")])


def score_text(score: float) -> str:
    """A score as a label shows it (4 significant digits)."""
    return f"{score:.4g}"


def score_attr(score: float) -> str:
    """A score as ``data-score`` holds it: exact, since the client's slider compares it."""
    return repr(float(score))


def label_text(obj: OverlayObject) -> str:
    parts = []
    if obj.outcome in ("fp", "fn") or (obj.layer == "pred" and obj.outcome == "tp"):
        parts.append(obj.outcome.upper())
    parts.append(obj.class_name)
    if obj.score is not None:
        parts.append(score_text(obj.score))
    return " ".join(parts)


def _title(obj: OverlayObject) -> str:
    bits = [f"{(obj.outcome or '').upper()} {LAYER_NAMES[obj.layer]}".strip(), obj.class_name]
    if obj.score is not None:
        bits.append(f"score {score_text(obj.score)}")
    if obj.iou is not None:
        bits.append(f"IoU {obj.iou:.2f}")
    if obj.error:
        bits.append(obj.error)
    if obj.partner_id:
        bits.append(f"matched {obj.partner_id}")
    return " · ".join(bits)


def mask_path(grid: NDArray[np.bool_]) -> str:
    """SVG path data tracing the pixel outline of a mask (outer rings clockwise, holes inside).

    Boundary edges are found with numpy, merged into straight runs, then chained into closed
    loops; where two regions touch at a corner the walk turns right, so they stay separate.

    >>> mask_path(np.array([[1, 1], [1, 0]], dtype=bool))
    'M0 0H2V1H1V2H0Z'
    """
    full = np.asarray(grid, dtype=np.bool_)
    rows_any, cols_any = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    if rows_any.size == 0:
        return ""
    oy, ox = int(rows_any[0]), int(cols_any[0])  # trace only the mask's bounding box
    g = np.pad(full[oy : int(rows_any[-1]) + 1, ox : int(cols_any[-1]) + 1], 1)
    inner = g[1:-1, 1:-1]
    runs: list[tuple[NDArray[np.int64], ...]] = []
    # direction codes: 0 east, 1 south, 2 west, 3 north (screen coordinates, y down)
    for d, exposed in (
        (0, inner & ~g[:-2, 1:-1]),  # top edges, walked east
        (2, inner & ~g[2:, 1:-1]),  # bottom edges, walked west
    ):
        rows, c0, c1 = _runs(exposed)
        y = rows if d == 0 else rows + 1
        start, end = (c0, c1) if d == 0 else (c1, c0)
        runs.append((start, y, end, y, np.full(rows.size, d)))
    for d, exposed in (
        (3, inner & ~g[1:-1, :-2]),  # left edges, walked north
        (1, inner & ~g[1:-1, 2:]),  # right edges, walked south
    ):
        cols, r0, r1 = _runs(exposed.T)
        x = cols if d == 3 else cols + 1
        start, end = (r1, r0) if d == 3 else (r0, r1)
        runs.append((x, start, x, end, np.full(cols.size, d)))
    sx, sy, ex, ey, dirs = (
        (np.concatenate(parts) + shift).tolist()
        for parts, shift in zip(zip(*runs, strict=True), (ox, oy, ox, oy, 0), strict=True)
    )
    starts: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(sx, sy, strict=True)):
        starts[key].append(i)
    used = [False] * len(sx)
    out: list[str] = []
    for first in range(len(sx)):
        if used[first]:
            continue
        out.append(f"M{sx[first]} {sy[first]}")
        i = first
        while True:
            used[i] = True
            nxt = [j for j in starts[(ex[i], ey[i])] if not used[j]]
            if not nxt:
                out.append("Z")
                break
            if len(nxt) > 1:
                right = (dirs[i] + 1) % 4
                nxt = [j for j in nxt if dirs[j] == right] or nxt
            out.append(f"H{ex[i]}" if dirs[i] in (0, 2) else f"V{ey[i]}")
            i = nxt[0]
    return "".join(out)


def _runs(
    exposed: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Maximal horizontal runs of True per row: (row, first column, one past the last)."""
    h, w = exposed.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)  # zero columns: no run crosses a row end
    padded[:, 1:-1] = exposed
    step = np.diff(padded.reshape(-1))  # 1-D and contiguous: much faster than 2-D nonzero
    on = np.flatnonzero(step == 1) + 1
    off = np.flatnonzero(step == -1) + 1
    stride = w + 2
    return on // stride, on % stride - 1, off % stride - 1


def _ring(points: tuple[tuple[float, float], ...]) -> str:
    if not points:
        return ""
    head, *rest = points
    return f"M{num(head[0])} {num(head[1])}" + "".join(f"L{num(x)} {num(y)}" for x, y in rest) + "Z"


def shape_markup(shape: Shape, stroke: str) -> str:
    """The SVG element(s) of one shape; ``stroke`` holds the shared stroke attributes."""
    if isinstance(shape, Box):
        return (
            f'<rect class="shape"{attrs(x=num(shape.x), y=num(shape.y))}'
            f'{attrs(width=num(shape.w), height=num(shape.h))} fill="none"{stroke}/>'
        )
    if isinstance(shape, RotatedBox):
        cx, cy = shape.x + shape.w / 2, shape.y + shape.h / 2
        turn = f"rotate({num(shape.theta)} {num(cx)} {num(cy)})"
        return (
            f'<rect class="shape"{attrs(x=num(shape.x), y=num(shape.y))}'
            f"{attrs(width=num(shape.w), height=num(shape.h), transform=turn)}"
            f' fill="none"{stroke}/>'
        )
    if isinstance(shape, Polygon):
        d = "".join(_ring(ring) for ring in shape.rings)
        return f'<path class="shape"{attrs(d=d)} fill-rule="evenodd" fill-opacity="0.18"{stroke}/>'
    if isinstance(shape, Polyline):
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in shape.points)
        return f'<polyline class="shape"{attrs(points=pts)} fill="none"{stroke}/>'
    if isinstance(shape, Mask):
        d = mask_path(shape.to_array())
        return (
            f'<path class="shape mask"{attrs(d=d)} fill-rule="evenodd" fill-opacity="0.3"'
            f' shape-rendering="crispEdges"{stroke}/>'
        )
    if isinstance(shape, Keypoint):
        return _keypoint(shape, stroke)
    return _skeleton(shape, stroke)


def _keypoint(k: Keypoint, stroke: str) -> str:
    fill = "currentColor" if k.visible else "none"
    title = f"<title>{text(k.name)}</title>" if k.name else ""
    return (
        f'<circle class="shape keypoint"{attrs(cx=num(k.x), cy=num(k.y))} r="3"'
        f' fill="{fill}"{stroke}>{title}</circle>'
    )


def _skeleton(s: Skeleton, stroke: str) -> str:
    parts = ['<g class="shape skeleton">']
    for a, b in s.edges:
        if 0 <= a < len(s.points) and 0 <= b < len(s.points):
            p, q = s.points[a], s.points[b]
            if p.visible and q.visible:
                coords = attrs(x1=num(p.x), y1=num(p.y), x2=num(q.x), y2=num(q.y))
                parts.append(f"<line{coords}{stroke}/>")
    parts.extend(_keypoint(k, stroke) for k in s.points)
    parts.append("</g>")
    return "".join(parts)


def object_markup(obj: OverlayObject, font_size: float, labels: bool = True) -> str:
    """One object's ``<g>``: the shape, a tooltip title and an optional label."""
    style = line_style(obj)
    stroke = attrs(
        stroke=style.colour,
        stroke_width=num(style.width),
        stroke_dasharray=style.dash,
        vector_effect="non-scaling-stroke",
    )
    outcome = obj.outcome or "none"
    head = attrs(
        class_=f"obj {obj.layer} outcome-{outcome}",
        color=style.colour,
        data_layer=obj.layer,
        data_outcome=obj.outcome,
        data_score=None if obj.score is None else score_attr(obj.score),
        data_class=obj.class_name,
        data_object=obj.object_id,
        data_partner=obj.partner_id,
        data_testid=f"obj-{obj.object_id}",
    )
    body = [f"<g{head}><title>{text(_title(obj))}</title>", shape_markup(obj.shape, stroke)]
    if labels:
        ext = shape_extent(obj.shape)
        above = ext.y - font_size * 0.3
        inside = obj.layer == "gt" or above < font_size  # GT labels inside: pred ones above
        y = ext.y + font_size * 1.05 if inside else above
        place = "inside" if obj.layer == "gt" else "above"
        body.append(
            f'<text class="label"{attrs(x=num(ext.x + 1), y=num(y), font_size=num(font_size))}'
            f"{attrs(data_left=num(ext.x), data_top=num(ext.y), data_place=place)}"
            f' fill="{style.colour}" stroke="#000" stroke-width="{num(font_size / 5)}"'
            f' stroke-opacity="0.75" paint-order="stroke">{text(label_text(obj))}</text>'
        )
    body.append("</g>")
    return "".join(body)


def overlay_svg(
    frame: OverlayFrame,
    *,
    labels: bool = True,
    testid: str | None = None,
    font_size: float | None = None,
) -> str:
    """The ``<svg>`` for one frame: a ``gt`` layer under a ``pred`` layer.

    >>> frame = OverlayFrame(10, 10, (OverlayObject("a", "gt", Box(1, 1, 4, 4), "cat", "fn"),))
    >>> 'data-outcome="fn"' in overlay_svg(frame)
    True
    """
    font = font_size or max(9.0, min(frame.width, frame.height) / 30)
    counts = {layer: sum(o.layer == layer for o in frame.objects) for layer in ("gt", "pred")}
    label = f"{counts['gt']} ground-truth and {counts['pred']} predicted objects"
    head = attrs(
        class_="overlay",
        viewBox=f"0 0 {frame.width} {frame.height}",
        preserveAspectRatio="xMidYMid meet",
        role="img",
        aria_label=label,
        data_testid=testid,
    )
    out = [f"<svg{head}>"]  # inline in HTML: no namespace declaration needed
    for layer in ("gt", "pred"):
        out.append(f'<g class="layer"{attrs(data_layer=layer)}>')
        out.extend(object_markup(o, font, labels) for o in frame.objects if o.layer == layer)
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def crop_box(frame: OverlayFrame, box: Box, margin: float = 0.25, min_size: float = 32.0) -> Box:
    """The region a crop tile shows: ``box`` grown by ``margin`` of its size, kept in the image."""
    w = max(box.w * (1 + 2 * margin), min_size)
    h = max(box.h * (1 + 2 * margin), min_size)
    w, h = min(w, frame.width), min(h, frame.height)
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    x = min(max(cx - w / 2, 0.0), frame.width - w)
    y = min(max(cy - h / 2, 0.0), frame.height - h)
    return Box(x, y, w, h)


def _meets(a: Box, b: Box) -> bool:
    return a.x <= b.x + b.w and b.x <= a.x + a.w and a.y <= b.y + b.h and b.y <= a.y + a.h


def crop_svg(
    frame: OverlayFrame,
    image_url: str,
    focus: str,
    *,
    margin: float = 0.25,
    testid: str | None = None,
) -> str:
    """One object's crop (an "evaluation patch"): the image and every overlay, zoomed to it.

    The image is an SVG ``<image>`` (same origin, so the CSP allows it) and the ``viewBox`` is the
    object's box plus ``margin``: no cropped copy of the picture is made. The focused object gets
    the class ``focus``; the others stay drawn for context.
    """
    target = next((o for o in frame.objects if o.object_id == focus), None)
    if target is None:
        raise KeyError(f"crop: no object {focus!r} in this frame")
    region = crop_box(frame, shape_extent(target.shape), margin)
    font = max(region.w, region.h) / 240 * 11
    head = attrs(
        class_="overlay crop",
        viewBox=f"{num(region.x)} {num(region.y)} {num(region.w)} {num(region.h)}",
        preserveAspectRatio="xMidYMid meet",
        role="img",
        aria_label=f"{label_text(target)}, cropped",
        data_focus=focus,
        data_testid=testid,
    )
    out = [
        f"<svg{head}>",
        f"<image{attrs(href=image_url, width=frame.width, height=frame.height)}"
        ' preserveAspectRatio="none"/>',
    ]
    shown = [o for o in frame.objects if o is target or _meets(shape_extent(o.shape), region)]
    for layer in ("gt", "pred"):
        out.append(f'<g class="layer"{attrs(data_layer=layer)}>')
        for o in shown:  # only what the crop can show: a patch's markup stays small
            if o.layer == layer:
                markup = object_markup(o, font, labels=o is target)  # context unlabelled
                out.append(
                    markup.replace('class="obj ', 'class="obj focus ', 1) if o is target else markup
                )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
