"""One branch's objects collected into ``BranchColumns``: from stored JSON entries one by one,
and from decoded geometry copies (``formats.row_geometry``) as arrays; geometry is finished in
bulk (pixels, hulls, masks, keypoints) by ``Collector.finish``. ``inputs`` holds the rules."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from pycocotools import mask as mask_utils

from predscope.exceptions import LabelRowError
from predscope.formats.row_geometry import (
    BOX,
    COCO,
    COCO_AREA,
    COCO_BBOX,
    COCO_CROWD,
    ROTATED,
    GeometryRows,
    coco_extras,
    decode_rows,
)
from predscope.objects.bitmask import rle_string_to_coco_rle

if TYPE_CHECKING:
    from predscope.services.analysis.inputs import CategoryTable, FrameTable
    from predscope.store.records import ListedRow

Attributes = tuple[tuple[str, str], ...]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class BranchColumns:
    """One row per evaluated object-frame of a branch, in image order then stored order."""

    image: NDArray[np.int64]
    category: NDArray[np.int64]
    bbox: FloatArray
    area: FloatArray
    iscrowd: NDArray[np.bool_]
    score: FloatArray
    object_hashes: tuple[str, ...]
    masks: tuple[dict[str, Any] | None, ...] | None  # per row; None where the class is not segm
    attributes: tuple[Attributes, ...] = ()  # nested attribute answers per row (for slicing)
    rotated: FloatArray | None = None  # (N, 5) pixel [x, y, w, h, theta]; rows of rotated classes
    # skeleton rows: (K, 3) pixel [x, y, v] in the template's node order; polyline rows: (P, 2)
    keypoints: tuple[FloatArray | None, ...] | None = None
    polylines: tuple[FloatArray | None, ...] | None = None


def index_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)


def to_pixels(fraction: FloatArray, size: FloatArray) -> FloatArray:
    """Pixel values of normalised ones: the shortest decimal whose normalised form is exact."""
    raw = fraction * size
    out = raw.copy()
    todo = np.ones(raw.shape, dtype=np.bool_)
    for digits in range(16):
        candidate = np.round(raw, digits)
        ok = todo & (candidate / size == fraction)
        out[ok] = candidate[ok]
        todo &= ~ok
        if not todo.any():
            break
    return out


_GEOMETRY_KEY = {
    0: "boundingBox",
    1: "rotatableBoundingBox",
    2: "polygons",
    3: "bitmask",
    4: "skeleton",
    5: "polyline",
}
SHAPE_KIND = {
    "bounding_box": 0,
    "rotatable_bounding_box": 1,
    "polygon": 2,
    "bitmask": 3,
    "skeleton": 4,
    "polyline": 5,
}
# Encord's visibility of a skeleton node -> COCO's v (2 visible, 1 occluded, 0 not labelled)
_VISIBILITY = {None: 2, "visible": 2, "occluded": 1, "selfOccluded": 1, "invisible": 0}


class Collector:
    """Accumulates one branch's objects; geometry is finished in bulk by ``finish``.

    Boxes (the common case, 500,000 per branch at COCO scale) stay four floats in one flat list;
    only other shapes keep their geometry dict for per-object work.
    """

    def __init__(self, frames: FrameTable, cats: CategoryTable, gt: bool):
        self.frames, self.gt = frames, gt
        self.targets = {h: (i, SHAPE_KIND[cats.shapes[i]]) for h, i in cats.index.items()}
        self.shapes = cats.shapes
        self.nodes = cats.keypoints
        self.segm = np.array([k == "segm" for k in cats.kinds], dtype=np.bool_)
        self.rotated = np.array([k == "rotated" for k in cats.kinds], dtype=np.bool_)
        self.count = 0  # objects collected so far (both paths)
        self.segments: list[tuple[NDArray[Any], ...]] = []  # closed (image .. raw box) columns
        self._open()
        self.hashes: list[str] = []
        self.attrs: list[Attributes] = []
        self.other: list[tuple[int, int, Any]] = []  # (row, kind, geometry) for non-boxes
        self.extras: list[tuple[int, float | None, bool, list[float] | None]] = []
        # copied rows' COCO extras as columns: (rows, area, has area, bbox, has bbox, crowd)
        self.extra_columns: list[tuple[NDArray[Any], ...]] = []

    def _open(self) -> None:
        self.image: list[int] = []
        self.category: list[int] = []
        self.kind: list[int] = []
        self.score: list[float] = []
        self.raw_box: list[float] = []  # normalised x, y, w, h per object (0 for other shapes)

    def _close(self) -> None:
        """The objects the JSON path added since the last segment, as one segment of columns."""
        if self.image:
            self.segments.append(
                (
                    np.array(self.image, dtype=np.int64),
                    np.array(self.category, dtype=np.int64),
                    np.array(self.kind, dtype=np.int8),
                    np.array(self.score, dtype=np.float64),
                    np.array(self.raw_box, dtype=np.float64).reshape(-1, 4),
                )
            )
            self._open()

    def add_copies(
        self,
        copies: GeometryRows,
        image: NDArray[np.int64],
        category: NDArray[np.int64],
        kind: NDArray[np.int64],
        keep: NDArray[np.bool_],
    ) -> None:
        """The kept objects of decoded geometry copies (boxes and rotated boxes only), exactly
        as ``add`` would have taken them from the JSON."""
        idx = np.flatnonzero(keep)
        n = int(idx.size)
        if not n:
            return
        self._close()
        kinds = kind[idx].astype(np.int8)
        self.segments.append((image[idx], category[idx], kinds, copies.score[idx], copies.box[idx]))
        rows = self.count + np.arange(n, dtype=np.int64)
        self.hashes.extend(compress(copies.object_hashes, keep.tolist()))
        self.attrs.extend([()] * n)
        turned = np.flatnonzero(kinds == 1)
        if turned.size:
            theta = copies.theta[idx[turned]].tolist()
            self.other += [
                (r, 1, {"theta": t}) for r, t in zip(rows[turned].tolist(), theta, strict=True)
            ]
        if self.gt:
            bits = copies.bits[idx]
            coco = np.flatnonzero(bits & COCO)
            if coco.size:
                b = bits[coco]
                self.extra_columns.append(
                    (
                        rows[coco],
                        copies.area[idx[coco]],
                        (b & COCO_AREA) != 0,
                        copies.coco_bbox[idx[coco]],
                        (b & COCO_BBOX) != 0,
                        (b & COCO_CROWD) != 0,
                    )
                )
        self.count += n

    def add(
        self,
        where: str,
        image: int,
        entry: Mapping[str, Any],
        answers: Mapping[str, Any] | None = None,
    ) -> None:
        target = self.targets.get(entry.get("featureHash", ""))
        if target is None:
            return
        category, kind = target
        geometry = entry.get(_GEOMETRY_KEY[kind])
        if geometry is None and kind == 2 and "polygon" in entry:
            geometry = _legacy_polygon(entry["polygon"])
        if geometry is None:
            shape = self.shapes[category]
            raise LabelRowError(
                f"{where}: object {entry.get('objectHash')!r} ({shape}) has no {shape} geometry "
                "- the stored row is damaged; re-import or re-save it"
            )
        row = self.count
        self.count += 1
        if kind <= 1:
            self.raw_box += (geometry["x"], geometry["y"], geometry["w"], geometry["h"])
        else:
            self.raw_box += (0.0, 0.0, 0.0, 0.0)
        if kind:
            self.other.append((row, kind, geometry))
        if self.gt and "coco" in entry:
            self.extras.append((row, *coco_extras(entry)))
        confidence = entry.get("confidence")
        self.image.append(image)
        self.category.append(category)
        self.kind.append(kind)
        self.hashes.append(str(entry.get("objectHash")))
        self.attrs.append(_attributes(answers, self.hashes[-1]) if answers else ())
        self.score.append(1.0 if confidence is None else float(confidence))

    def finish(self) -> BranchColumns:
        self._close()
        n = self.count
        columns = list(zip(*self.segments, strict=True)) or [
            (np.zeros(0, np.int64),),
            (np.zeros(0, np.int64),),
            (np.zeros(0, np.int8),),
            (np.zeros(0, np.float64),),
            (np.zeros((0, 4), np.float64),),
        ]
        image, category, kind, score, raw_box = (np.concatenate(c) for c in columns)
        width = np.array(self.frames.width, dtype=np.float64)[image]
        height = np.array(self.frames.height, dtype=np.float64)[image]
        bbox = np.zeros((n, 4), dtype=np.float64)
        area = np.zeros(n, dtype=np.float64)
        boxes = np.flatnonzero(kind <= 1)
        if boxes.size:
            raw = raw_box[boxes]
            size = np.stack([width[boxes], height[boxes]] * 2, axis=1)
            bbox[boxes] = to_pixels(raw, size)
            area[boxes] = bbox[boxes, 2] * bbox[boxes, 3]
        want_mask = self.segm[category] if n else np.zeros(0, dtype=np.bool_)
        masks: list[dict[str, Any] | None] | None = None
        if want_mask.any():
            masks = [None] * n
            for i in np.flatnonzero((kind == 0) & want_mask).tolist():
                masks[i] = _polygon_rle([_box_ring(bbox[i])], [], int(height[i]), int(width[i]))
        rotated: FloatArray | None = None
        if n and self.rotated[category].any():
            rotated = np.zeros((n, 5), dtype=np.float64)
        keypoints: list[FloatArray | None] | None = None
        polylines: list[FloatArray | None] | None = None
        if n and (kind == 4).any():
            keypoints = [None] * n
        if n and (kind == 5).any():
            polylines = [None] * n
        for i, k, geometry in self.other:
            w, h = int(width[i]), int(height[i])
            rle: dict[str, Any] | None = None
            if k >= 4:
                names = self.nodes[int(category[i])] if k == 4 else None
                points, present = _points(geometry, w, h, names)
                if present.any():
                    x, y = points[present, 0], points[present, 1]
                    x0, y0 = float(x.min()), float(y.min())
                    bbox[i] = [x0, y0, float(x.max()) - x0, float(y.max()) - y0]
                    area[i] = bbox[i, 2] * bbox[i, 3]
                if keypoints is not None and k == 4:
                    keypoints[i] = points
                elif polylines is not None:
                    polylines[i] = points[:, :2]
                continue
            if k == 1:
                theta = float(geometry.get("theta", 0.0))
                if rotated is not None:
                    rotated[i] = [*bbox[i].tolist(), theta]
                ring = _rotated_ring(bbox[i], theta)
                xs, ys = ring[0::2], ring[1::2]
                bbox[i] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
                rle = _polygon_rle([ring], [], h, w) if want_mask[i] else None
            elif k == 2:
                bbox[i], area[i], rle = _polygon_geometry(geometry, w, h)
            else:
                rle = rle_string_to_coco_rle(
                    geometry["rleString"], int(geometry["height"]), int(geometry["width"])
                )
                coco = {"size": rle["size"], "counts": _bytes(rle["counts"])}
                bbox[i] = mask_utils.toBbox(coco)
                area[i] = float(mask_utils.area(coco))
            if masks is not None and rle is not None and want_mask[i]:
                masks[i] = rle
        crowd = np.zeros(n, dtype=np.bool_)
        for i, stored_area, is_crowd, stored_box in self.extras:
            if stored_area is not None:
                area[i] = stored_area
            if stored_box is not None:
                bbox[i] = stored_box
            crowd[i] = is_crowd
        for rows, areas, has_area, boxes_kept, has_box, crowds in self.extra_columns:
            area[rows[has_area]] = areas[has_area]
            bbox[rows[has_box]] = boxes_kept[has_box]
            crowd[rows] = crowds
        return BranchColumns(
            image=image,
            category=category,
            bbox=bbox,
            area=area,
            iscrowd=crowd,
            score=score,
            object_hashes=tuple(self.hashes),
            attributes=tuple(self.attrs),
            masks=None if masks is None else tuple(masks),
            rotated=rotated,
            keypoints=None if keypoints is None else tuple(keypoints),
            polylines=None if polylines is None else tuple(polylines),
        )


def _points(
    geometry: Any, w: int, h: int, names: tuple[str, ...] | None
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Pixel points of a stored skeleton ((K, 3) [x, y, v] in ``names`` order, [0, 0, 0] for a
    node the object lacks) or polyline ((P, 3), v = 2), and which rows the object has."""
    items = (
        [geometry[key] for key in sorted(geometry, key=index_key)]
        if isinstance(geometry, Mapping)
        else list(geometry)
    )
    if names is None:
        rows = [(float(p["x"]), float(p["y"]), 2.0) for p in items]
        present = np.ones(len(rows), dtype=np.bool_)
    else:
        slot = {name: j for j, name in enumerate(names)}
        raw = [(0.0, 0.0, 0.0)] * len(names)
        present = np.zeros(len(names), dtype=np.bool_)
        for p in items:
            j = slot.get(str(p.get("name")))
            if j is None or present[j]:
                continue
            visibility = p.get("visibility")
            if visibility is None:  # older rows: a boolean key instead of one string
                visibility = next((v for v in _VISIBILITY if v and p.get(v) is True), None)
            raw[j] = (float(p["x"]), float(p["y"]), float(_VISIBILITY.get(visibility, 2)))
            present[j] = True
        rows = raw
    out = np.array(rows, dtype=np.float64).reshape(-1, 3)
    size = np.array([w, h], dtype=np.float64)
    out[present, :2] = to_pixels(out[present, :2], np.broadcast_to(size, (int(present.sum()), 2)))
    return out, present


def _bytes(counts: Any) -> Any:
    return counts.encode("ascii") if isinstance(counts, str) else counts


def _legacy_polygon(points: Any) -> list[list[list[float]]]:
    items = [points[k] for k in sorted(points, key=int)] if isinstance(points, Mapping) else points
    return [[[v for p in items for v in (float(p["x"]), float(p["y"]))]]]


def _box_ring(box: FloatArray) -> list[float]:
    x1, y1 = float(box[0]), float(box[1])
    x2, y2 = x1 + float(box[2]), y1 + float(box[3])
    return [x1, y1, x1, y2, x2, y2, x2, y1]  # the polygon pycocotools' loadRes gives a box


def _rotated_ring(box: FloatArray, theta: float) -> list[float]:
    """Corners of a box rotated ``theta`` degrees clockwise (image y points down)."""
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + w / 2.0, y + h / 2.0
    c, s = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    ring: list[float] = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        ring += [cx + dx * c - dy * s, cy + dx * s + dy * c]
    return ring


def _polygon_geometry(
    polygons: Sequence[Sequence[Sequence[float]]], w: int, h: int
) -> tuple[list[float], float, dict[str, Any]]:
    """bbox (coordinate extent), mask area and RLE of stored normalised polygons."""
    outers: list[list[float]] = []
    holes: list[list[float]] = []
    size = np.array([w, h], dtype=np.float64)
    for polygon in polygons:
        for k, ring in enumerate(polygon):
            flat = np.asarray(ring, dtype=np.float64)
            pixels = to_pixels(flat, np.tile(size, flat.size // 2)).tolist()
            (outers if k == 0 else holes).append(pixels)
    xs = [v for ring in outers for v in ring[0::2]]
    ys = [v for ring in outers for v in ring[1::2]]
    bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    rle = _polygon_rle(outers, holes, h, w)
    area = float(mask_utils.area({"size": rle["size"], "counts": _bytes(rle["counts"])}))
    return bbox, area, rle


def _polygon_rle(
    outers: list[list[float]], holes: list[list[float]], h: int, w: int
) -> dict[str, Any]:
    """Outer rings united as pycocotools' ``annToRLE`` does; holes cut out when present."""
    rle = mask_utils.merge(mask_utils.frPyObjects(outers, h, w))
    if holes:
        cut = mask_utils.merge(mask_utils.frPyObjects(holes, h, w))
        pixels = mask_utils.decode(rle).astype(bool) & ~mask_utils.decode(cut).astype(bool)
        rle = mask_utils.encode(np.asfortranarray(pixels.astype(np.uint8)))
    return {"size": [int(h), int(w)], "counts": rle["counts"]}


def collect_copies(
    collector: Collector,
    records: Sequence[ListedRow],
    blobs: Sequence[bytes | None],
    frames: FrameTable,
    cats: CategoryTable,
    shape_kind: NDArray[np.int64],
) -> list[ListedRow]:
    """Collect the objects of rows with a geometry copy; returns the rows to read as JSON."""
    copies = decode_rows([b for b in blobs if b is not None])
    n_rows = len(records)
    ends = np.cumsum(copies.counts)
    image = np.full(copies.row.size, -1, dtype=np.int64)
    row_ok = np.ones(n_rows, dtype=np.bool_)
    first = np.full(n_rows, -1, dtype=np.int64)  # image rows: the image of frame 0
    index = frames.index
    for i, record in enumerate(records):
        unit = record.unit
        if copies.data_types[i] != unit.data_type:
            row_ok[i] = False  # frames were numbered for another data type
        elif unit.data_type == "image":
            first[i] = index.get((unit.data_hash, 0), -1)
        elif copies.counts[i]:
            lo, hi = int(ends[i] - copies.counts[i]), int(ends[i])
            found, at = np.unique(copies.frame[lo:hi], return_inverse=True)
            lookup = [index.get((unit.data_hash, f), -1) for f in found.tolist()]
            image[lo:hi] = np.array(lookup, dtype=np.int64)[at.reshape(-1)]
    plain = first[copies.row] >= 0
    image[plain] = first[copies.row[plain]]
    feature_category = np.array(
        [cats.index.get(f, -1) for f in copies.features] or [-1], dtype=np.int64
    )
    category = feature_category[copies.feature] if copies.feature.size else copies.feature
    keep = (image >= 0) & (category >= 0)
    kind = np.where(keep, shape_kind[np.maximum(category, 0)], -1)
    bits = copies.bits
    held = ((kind == 0) & ((bits & BOX) != 0)) | ((kind == 1) & ((bits & ROTATED) != 0))
    row_ok[copies.row[keep & ~held]] = False  # another shape, or no such geometry: the JSON
    keep &= row_ok[copies.row]
    collector.add_copies(copies, image, category, kind, keep)
    return [r for r, ok in zip(records, row_ok.tolist(), strict=True) if not ok]


def _attributes(answers: Mapping[str, Any], object_hash: str) -> Attributes:
    """(attribute name, answer) pairs of an object; Encord lists nested attributes flat."""
    found = answers.get(object_hash)
    if not isinstance(found, Mapping):
        return ()
    out: list[tuple[str, str]] = []
    for item in found.get("classifications") or ():
        name = item.get("name")
        value = item.get("answers")
        if not isinstance(name, str):
            continue
        if isinstance(value, str):
            out.append((name, value[:400]))
        elif isinstance(value, list):
            out += [(name, str(a.get("name"))[:400]) for a in value if isinstance(a, Mapping)]
    return tuple(out)
