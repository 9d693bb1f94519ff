"""Checks on whole COCO box columns that the importer and ``predscope eval`` share.

The normalised-box trap (encord-active #534): a detector writes fractions of the image where COCO
wants pixels, and every metric silently drops to 0. One stray pixel-sized box must not hide the
rest, so the check counts boxes that fit in the unit square instead of asking that all do.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["normalised_box_warning", "unit_square_count"]


def unit_square_count(
    bbox: NDArray[np.float64], width: NDArray[np.float64], height: NDArray[np.float64]
) -> int:
    """How many ``[x, y, w, h]`` boxes lie inside [0, 1] x [0, 1] on images larger than 2 px.

    >>> unit_square_count(np.array([[0.1, 0.2, 0.3, 0.4], [10, 10, 5, 5]]), np.full(2, 640.0),
    ...                   np.full(2, 480.0))
    1
    """
    if bbox.shape[0] == 0:
        return 0
    x, y, w, h = bbox[:, 0], bbox[:, 1], bbox[:, 2], bbox[:, 3]
    with np.errstate(invalid="ignore"):
        inside = (x >= 0) & (y >= 0) & (w >= 0) & (h >= 0) & (x + w <= 1) & (y + h <= 1)
        big = np.maximum(width, height) > 2
    return int(np.count_nonzero(inside & big))


def normalised_box_warning(count: int, total: int) -> str | None:
    """The warning when most boxes (more than half) fit in the unit square, else None.

    >>> normalised_box_warning(9, 10)[:45]
    '9 of 10 boxes fit in the unit square (0..1): '
    >>> normalised_box_warning(5, 10) is None
    True
    """
    if total == 0 or 2 * count <= total:
        return None
    return (
        f"{count} of {total} boxes fit in the unit square (0..1): they look normalised, but COCO "
        "bbox is in pixels [x, y, width, height] - multiply by the image width/height, or "
        "import the file as YOLO"
    )
