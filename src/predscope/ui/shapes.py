"""What one frame's overlay is made of: shapes in pixels, and the object each belongs to.

Small frozen dataclasses of the UI's own, so overlays render from plain data: the stored analysis
(label rows plus outcomes) is converted into these by the caller. Coordinates are in pixels of
the image's natural size, origin top-left, y down (the SVG ``viewBox`` is the image size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from predscope.objects.bitmask import rle_string_to_counts

Point = tuple[float, float]
Layer = Literal["gt", "pred"]
OutcomeName = Literal["tp", "fp", "fn", "ignored"]


@dataclass(frozen=True)
class Box:
    """Axis-aligned box: top-left corner and size."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class RotatedBox:
    """Encord's rotatable box: the box turned ``theta`` degrees clockwise about its centre."""

    x: float
    y: float
    w: float
    h: float
    theta: float


@dataclass(frozen=True)
class Polygon:
    """One outer ring and any holes (each ring a sequence of points, not closed explicitly)."""

    rings: tuple[tuple[Point, ...], ...]


@dataclass(frozen=True)
class Polyline:
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Keypoint:
    x: float
    y: float
    name: str = ""
    visible: bool = True


@dataclass(frozen=True)
class Skeleton:
    """Keypoints and the edges between them (pairs of indices into ``points``)."""

    points: tuple[Keypoint, ...]
    edges: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Mask:
    """A bitmask as row-major run lengths, zeros first (Encord's ``rleString`` decoded).

    >>> m = Mask.from_array(np.array([[0, 1], [1, 1]], dtype=bool))
    >>> m.counts
    (1, 3)
    """

    height: int
    width: int
    counts: tuple[int, ...]

    @classmethod
    def from_array(cls, mask: NDArray[np.bool_]) -> Mask:
        flat = np.asarray(mask, dtype=np.bool_).reshape(-1)
        change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        bounds = np.concatenate(([0], change, [flat.size]))
        runs = np.diff(bounds).tolist()
        if flat.size and flat[0]:
            runs = [0, *runs]
        return cls(int(mask.shape[0]), int(mask.shape[1]), tuple(int(r) for r in runs))

    @classmethod
    def from_rle_string(cls, rle: str, height: int, width: int) -> Mask:
        """From Encord's ``rleString`` (row-major compressed RLE)."""
        counts = rle_string_to_counts(rle)
        return cls(height, width, tuple(int(c) for c in counts))

    def to_array(self) -> NDArray[np.bool_]:
        values = (np.arange(len(self.counts)) % 2).astype(np.bool_)
        flat = np.repeat(values, np.asarray(self.counts, dtype=np.int64))
        return flat.reshape(self.height, self.width)


Shape = Box | RotatedBox | Polygon | Polyline | Skeleton | Mask | Keypoint


@dataclass(frozen=True)
class OverlayObject:
    """One drawn object: its shape, which layer it is on and how the analysis judged it.

    ``outcome`` is the object's own outcome: a prediction is tp/fp, a ground-truth object tp
    (matched) or fn (missed); None when the set is not analysed. ``error`` is the error type
    (e.g. "localisation", "duplicate"), shown in the tooltip.
    """

    object_id: str
    layer: Layer
    shape: Shape
    class_name: str
    outcome: OutcomeName | None = None
    score: float | None = None
    iou: float | None = None
    error: str | None = None
    partner_id: str | None = None


@dataclass(frozen=True)
class OverlayFrame:
    """Everything drawn over one image (or one video frame)."""

    width: int
    height: int
    objects: tuple[OverlayObject, ...] = field(default=())


def shape_extent(shape: Shape) -> Box:
    """The axis-aligned box around a shape (where its label goes)."""
    if isinstance(shape, Box):
        return shape
    if isinstance(shape, Keypoint):
        return Box(shape.x, shape.y, 0.0, 0.0)
    if isinstance(shape, Mask):
        grid = shape.to_array()
        rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
        if rows.size == 0:
            return Box(0.0, 0.0, 0.0, 0.0)
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        return Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0))
    pts = np.asarray(_points(shape), dtype=np.float64).reshape(-1, 2)
    if pts.size == 0:
        return Box(0.0, 0.0, 0.0, 0.0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return Box(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))


def rotated_corners(box: RotatedBox) -> tuple[Point, ...]:
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    t = np.deg2rad(box.theta)
    c, s = float(np.cos(t)), float(np.sin(t))
    out = []
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        px, py = dx * box.w / 2, dy * box.h / 2
        out.append((cx + px * c - py * s, cy + px * s + py * c))
    return tuple(out)


def _points(shape: RotatedBox | Polygon | Polyline | Skeleton) -> list[Point]:
    if isinstance(shape, RotatedBox):
        return list(rotated_corners(shape))
    if isinstance(shape, Polygon):
        return [p for ring in shape.rings[:1] for p in ring]
    if isinstance(shape, Polyline):
        return list(shape.points)
    return [(k.x, k.y) for k in shape.points if k.visible]
