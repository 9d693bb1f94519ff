"""COCO pixel geometry <-> predscope's normalised coordinates, shared by COCO import and export.

Nothing here is silently changed: boxes, polygons and keypoints that reach outside the image are
clipped *and* the caller gets ``clipped=True`` to count in its report. RLE masks convert exactly
(COCO column-major <-> Encord row-major). Keypoint visibility follows COCO: ``v=0`` not labelled ->
``Visibility.INVISIBLE``, ``v=1`` labelled but not visible -> ``OCCLUDED``, ``v=2`` -> ``VISIBLE``;
on export ``SELF_OCCLUDED`` becomes 1 and a point without visibility becomes 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask
from numpy.typing import NDArray

from predscope.exceptions import CoordinatesError, ImportFormatError
from predscope.objects.bitmask import BitmaskCoordinates, rle_string_to_counts
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
    Visibility,
)

_COCO_TO_VISIBILITY = {0: Visibility.INVISIBLE, 1: Visibility.OCCLUDED, 2: Visibility.VISIBLE}
_VISIBILITY_TO_COCO = {
    None: 2,
    Visibility.VISIBLE: 2,
    Visibility.OCCLUDED: 1,
    Visibility.SELF_OCCLUDED: 1,
    Visibility.INVISIBLE: 0,
}


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_image(width: int, height: int, source: str, location: str) -> None:
    if not (_is_number(width) and _is_number(height) and width > 0 and height > 0):
        raise ImportFormatError(
            source,
            location,
            f"image size {width!r}x{height!r} is not positive",
            "give every image a positive width and height",
        )


def _numbers(values: object, field: str, source: str, location: str) -> list[float]:
    if not isinstance(values, (list, tuple)) or not all(_is_number(v) for v in values):
        raise ImportFormatError(
            source, location, f"{field} must be a list of finite numbers, got {values!r}"[:300]
        )
    return [float(v) for v in values]


# --- bounding boxes ---------------------------------------------------------------------------


def bbox_looks_normalised(bbox: Sequence[float], image_width: int, image_height: int) -> bool:
    """True when every value is <= 1 on an image larger than 2x2: probably fractions, not pixels."""
    return max(image_width, image_height) > 2 and all(abs(v) <= 1.0 for v in bbox)


def check_bboxes_in_pixels(
    boxes: Sequence[tuple[Sequence[float], int, int]], source: str, location: str = "annotations"
) -> None:
    """Refuse a file whose boxes (bbox, image width, image height) all look normalised."""
    if boxes and all(bbox_looks_normalised(b, w, h) for b, w, h in boxes):
        raise ImportFormatError(
            source,
            location,
            "every bbox value is <= 1, so the boxes look normalised (0..1), but COCO bbox is in"
            " pixels [x, y, width, height]",
            "multiply by the image width/height, or import the file as YOLO",
        )


def coco_bbox_to_box(
    bbox: object, image_width: int, image_height: int, source: str = "coco", location: str = "bbox"
) -> tuple[BoundingBoxCoordinates, bool]:
    """Absolute ``[x, y, w, h]`` to a normalised box clipped to the image; second item: clipped?"""
    _check_image(image_width, image_height, source, location)
    values = _numbers(bbox, "bbox", source, location)
    if len(values) != 4:
        raise ImportFormatError(source, location, f"bbox needs 4 numbers, got {len(values)}")
    x, y, w, h = values
    if w < 0 or h < 0:
        raise ImportFormatError(
            source,
            location,
            f"bbox has negative width or height {bbox!r}",
            "COCO bbox is [x, y, width, height], not [x1, y1, x2, y2]",
        )
    # Compare before computing: (x + w) - x is not always w in floating point.
    clipped = x < 0 or y < 0 or x + w > image_width or y + h > image_height
    if clipped:
        x0, y0 = min(max(x, 0.0), image_width), min(max(y, 0.0), image_height)
        x1, y1 = max(min(x + w, image_width), x0), max(min(y + h, image_height), y0)
        x, y, w, h = x0, y0, x1 - x0, y1 - y0
    box = BoundingBoxCoordinates(
        height=h / image_height,
        width=w / image_width,
        top_left_x=x / image_width,
        top_left_y=y / image_height,
    )
    return box, clipped


def _to_pixels(fraction: float, size: int) -> float:
    """The shortest decimal pixel value that normalises back to exactly ``fraction``."""
    value = fraction * size
    for digits in range(0, 16):
        candidate = round(value, digits)
        if candidate / size == fraction:
            return candidate
    return value


def box_to_coco_bbox(c: BoundingBoxCoordinates, image_width: int, image_height: int) -> list[float]:
    return [
        _to_pixels(c.top_left_x, image_width),
        _to_pixels(c.top_left_y, image_height),
        _to_pixels(c.width, image_width),
        _to_pixels(c.height, image_height),
    ]


# --- polygons ---------------------------------------------------------------------------------


def coco_polygon_to_polygon(
    segmentation: object,
    image_width: int,
    image_height: int,
    source: str = "coco",
    location: str = "segmentation",
) -> tuple[PolygonCoordinates, bool]:
    """COCO polygon parts (a list of flat ``[x1, y1, ...]`` lists), each part its own polygon."""
    _check_image(image_width, image_height, source, location)
    if isinstance(segmentation, Mapping):
        raise ImportFormatError(
            source,
            location,
            "segmentation is an RLE dict, not polygons",
            "use a bitmask ontology object for RLE masks",
        )
    if not isinstance(segmentation, list) or not segmentation:
        raise ImportFormatError(source, location, "segmentation must be a non-empty list of parts")
    if any(isinstance(part, list) and part and isinstance(part[0], list) for part in segmentation):
        raise ImportFormatError(
            source,
            location,
            "segmentation is a list of lists of lists; COCO polygons are a list of flat lists"
            " [[x1, y1, x2, y2, ...], ...]",
            "flatten each part's points into one list of numbers",
        )
    polygons: list[list[list[PointCoordinate]]] = []
    clipped = False
    for i, part in enumerate(segmentation):
        where = f"{location}[{i}]"
        values = _numbers(part, "polygon part", source, where)
        if len(values) % 2 or len(values) < 6:
            raise ImportFormatError(
                source,
                where,
                f"polygon part has {len(values)} numbers",
                "a part needs an even count of at least 6 (3 points)",
            )
        ring: list[PointCoordinate] = []
        for j in range(0, len(values), 2):
            px = min(max(values[j], 0.0), image_width)
            py = min(max(values[j + 1], 0.0), image_height)
            clipped = clipped or px != values[j] or py != values[j + 1]
            ring.append(PointCoordinate(px / image_width, py / image_height))
        polygons.append([ring])
    try:
        return PolygonCoordinates(polygons=polygons), clipped
    except CoordinatesError as exc:
        raise ImportFormatError(source, location, str(exc)) from None


def polygon_to_coco_segmentation(
    c: PolygonCoordinates, image_width: int, image_height: int
) -> list[list[float]]:
    """Outer rings as COCO parts. COCO polygons cannot hold holes: use ``polygon_to_coco_rle``."""
    return [
        [
            _to_pixels(v, size)
            for p in polygon[0]
            for v, size in ((p.x, image_width), (p.y, image_height))
        ]
        for polygon in c.polygons
    ]


def polygon_has_holes(c: PolygonCoordinates) -> bool:
    return any(len(polygon) > 1 for polygon in c.polygons)


def polygon_to_coco_rle(
    c: PolygonCoordinates, image_width: int, image_height: int
) -> dict[str, Any]:
    """Rasterise (holes removed) with pycocotools' polygon rasteriser, as COCO evaluation does."""
    mask = np.zeros((image_height, image_width), dtype=bool)
    for polygon in c.polygons:
        for k, ring in enumerate(polygon):
            flat = [v * size for p in ring for v, size in ((p.x, image_width), (p.y, image_height))]
            rles = coco_mask.frPyObjects([flat], image_height, image_width)
            ring_mask = coco_mask.decode(coco_mask.merge(rles)).astype(bool)
            mask = mask | ring_mask if k == 0 else mask & ~ring_mask
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [image_height, image_width], "counts": encoded["counts"].decode("ascii")}


# --- RLE masks --------------------------------------------------------------------------------


def coco_rle_to_bitmask(
    rle: object,
    image_width: int | None = None,
    image_height: int | None = None,
    source: str = "coco",
    location: str = "segmentation",
) -> BitmaskCoordinates:
    """Exact conversion of a COCO RLE (compressed or uncompressed); checks ``size`` if known."""
    if not isinstance(rle, Mapping):
        raise ImportFormatError(source, location, "expected an RLE dict {size, counts}")
    try:
        bitmask = BitmaskCoordinates.from_coco_rle(rle)
    except CoordinatesError as exc:
        raise ImportFormatError(source, location, str(exc)) from None
    if (
        image_width is not None
        and image_height is not None
        and (bitmask.height != image_height or bitmask.width != image_width)
    ):
        raise ImportFormatError(
            source,
            location,
            f"RLE size [{bitmask.height}, {bitmask.width}] differs from the image's"
            f" [{image_height}, {image_width}]",
            "RLE size is [height, width] of the whole image",
        )
    return bitmask


def coco_polygon_to_bitmask(
    segmentation: object,
    image_width: int,
    image_height: int,
    source: str = "coco",
    location: str = "segmentation",
) -> BitmaskCoordinates:
    """Rasterise polygon parts for a bitmask ontology object (pycocotools' rasteriser).

    The parts' union comes from pycocotools as column-major runs and is turned into row-major
    runs inside the mask's bounding rows and columns only: no full-frame mask is decoded.
    """
    polygon, _ = coco_polygon_to_polygon(segmentation, image_width, image_height, source, location)
    parts = [
        [v * size for p in rings[0] for v, size in ((p.x, image_width), (p.y, image_height))]
        for rings in polygon.polygons
    ]
    merged = coco_mask.merge(coco_mask.frPyObjects(parts, image_height, image_width))
    counts = rle_string_to_counts(merged["counts"].decode("ascii"))
    row_major = _column_runs_to_row_runs(counts, image_height, image_width)
    encoded = coco_mask.frPyObjects(
        {"size": [image_width, image_height], "counts": row_major}, image_width, image_height
    )
    return BitmaskCoordinates(
        {"height": image_height, "width": image_width, "rleString": encoded["counts"].decode()}
    )


def _column_runs_to_row_runs(counts: NDArray[np.int64], height: int, width: int) -> list[int]:
    """COCO (column-major) run lengths to the row-major ones of the same mask, canonical form.

    Runs alternate zeros/ones from a zeros run (possibly empty). Each ones run is cut at column
    ends into vertical segments, the segments are drawn into a mask of their bounding box only,
    and that box's horizontal runs are placed back into the full frame's row-major order.
    """
    ends = np.cumsum(counts)
    starts = ends - counts
    one_start, one_end = starts[1::2], ends[1::2]
    keep = one_end > one_start
    one_start, one_end = one_start[keep], one_end[keep]
    total = height * width
    if one_start.size == 0:
        return [total]
    first_col, last_col = one_start // height, (one_end - 1) // height
    spans = last_col - first_col + 1
    run = np.repeat(np.arange(spans.size), spans)
    col = first_col[run] + (np.arange(run.size) - np.repeat(np.cumsum(spans) - spans, spans))
    top = np.maximum(one_start[run] - col * height, 0)
    bottom = np.minimum(one_end[run] - col * height, height)
    x0, y0 = int(col.min()), int(top.min())
    box_h, box_w = int(bottom.max()) - y0, int(col.max()) - x0 + 1
    edges = np.zeros((box_h + 1, box_w + 2), dtype=np.int8)
    edges[top - y0, col - x0 + 1] = 1
    edges[bottom - y0, col - x0 + 1] = -1
    inside = np.cumsum(edges, axis=0, dtype=np.int8)[:-1]  # padded by an empty column each side
    step = np.diff(inside, axis=1)
    rows, cols = np.nonzero(step)
    flat = (rows + y0) * width + cols + x0  # row-major order, as nonzero returns them
    rising = step[rows, cols] > 0
    on, off = flat[rising], flat[~rising]
    # A run reaching a row's end continues at the next row's start: join them.
    joined = off[:-1] == on[1:]
    on = on[np.concatenate(([True], ~joined))]
    off = off[np.concatenate((~joined, [True]))]
    marks = np.empty(2 * on.size + 2, dtype=np.int64)
    marks[0], marks[-1] = 0, total
    marks[1:-1:2], marks[2:-1:2] = on, off
    runs = np.diff(marks).tolist()
    if runs[-1] == 0:
        runs.pop()
    return [int(r) for r in runs]


def bitmask_to_coco_rle(c: BitmaskCoordinates) -> dict[str, Any]:
    return c.to_coco_rle()


def segmentation_area_bbox(
    segmentation: Any, image_width: int, image_height: int
) -> tuple[float, list[float]]:
    """COCO ``area`` and ``bbox`` of a polygon list or RLE, computed the way pycocotools does."""
    if isinstance(segmentation, list):
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, image_height, image_width))
    elif isinstance(segmentation.get("counts"), list):
        rle = coco_mask.frPyObjects(segmentation, image_height, image_width)
    else:
        counts = segmentation["counts"]
        rle = {
            "size": segmentation["size"],
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
        }
    return float(coco_mask.area(rle)), [float(v) for v in coco_mask.toBbox(rle)]


# --- keypoints --------------------------------------------------------------------------------


def coco_keypoints_to_skeleton(
    keypoints: object,
    names: Sequence[str],
    image_width: int,
    image_height: int,
    feature_hashes: Sequence[str | None] | None = None,
    skeleton_name: str | None = None,
    source: str = "coco",
    location: str = "keypoints",
) -> tuple[SkeletonCoordinates, bool]:
    """``[x, y, v] * K`` plus the category's keypoint names to a skeleton; second item: clipped?"""
    _check_image(image_width, image_height, source, location)
    values = _numbers(keypoints, "keypoints", source, location)
    if len(values) != 3 * len(names) or not names:
        raise ImportFormatError(
            source,
            location,
            f"keypoints has {len(values)} numbers but the category names {len(names)} keypoints",
            "keypoints must be [x, y, v] for each name in the category's keypoints list",
        )
    if feature_hashes is not None and len(feature_hashes) != len(names):
        raise ImportFormatError(source, location, "feature_hashes and names differ in length")
    points: list[SkeletonCoordinate] = []
    clipped = False
    for k, name in enumerate(names):
        x, y, v = values[3 * k : 3 * k + 3]
        if v not in _COCO_TO_VISIBILITY:
            raise ImportFormatError(
                source, f"{location}[{3 * k + 2}]", f"visibility flag {v!r} is not 0, 1 or 2"
            )
        px, py = min(max(x, 0.0), image_width), min(max(y, 0.0), image_height)
        clipped = clipped or (px, py) != (x, y)
        points.append(
            SkeletonCoordinate(
                x=px / image_width,
                y=py / image_height,
                name=name,
                feature_hash=None if feature_hashes is None else feature_hashes[k],
                visibility=_COCO_TO_VISIBILITY[int(v)],
            )
        )
    return SkeletonCoordinates(values=points, name=skeleton_name), clipped


def skeleton_to_coco_keypoints(
    c: SkeletonCoordinates,
    image_width: int,
    image_height: int,
    names: Sequence[str] | None = None,
) -> tuple[list[float], int]:
    """``([x, y, v] * K, num_keypoints)``; with ``names`` in that order, ``[0, 0, 0]`` if absent."""
    by_name = {p.name: p for p in c.values}
    ordered = c.values if names is None else [by_name.get(n) for n in names]
    flat: list[float] = []
    labelled = 0
    for p in ordered:
        if p is None:
            flat.extend((0, 0, 0))
            continue
        v = _VISIBILITY_TO_COCO[p.visibility]
        labelled += v > 0
        flat.extend((_to_pixels(p.x, image_width), _to_pixels(p.y, image_height), v))
    return flat, labelled
