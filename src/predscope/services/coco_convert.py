"""COCO annotation columns -> validated coordinates per data unit, by the target object's shape.

Boxes, the bulk of any detector's output, are clipped and normalised as whole numpy columns; only
masks, polygons and keypoints go through the per-annotation converters of ``formats.coco_geometry``.
Every problem is an ``ImportFormatError`` naming the file, the record and the field.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from predscope.exceptions import CoordinatesError, ImportFormatError
from predscope.formats.coco_geometry import (
    coco_bbox_to_box,
    coco_keypoints_to_skeleton,
    coco_polygon_to_bitmask,
    coco_polygon_to_polygon,
    coco_rle_to_bitmask,
    segmentation_area_bbox,
)
from predscope.formats.coco_mapping import ObjectTarget, UnitTarget
from predscope.formats.coco_reader import CocoFile, CocoRle
from predscope.objects.coordinates import (
    TOLERANCE,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    RotatableBoundingBoxCoordinates,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.import_writer import CocoImportReport, Plan, PlannedObject, progress_bar

__all__ = ["convert_annotations", "effective_sizes"]


def effective_sizes(
    source: str,
    targets: Sequence[UnitTarget | None],
    file_sizes: tuple[Sequence[int], Sequence[int]],
    labels: Sequence[str],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per image: the data unit's size (the file's when the unit has none); NaN if neither.

    A size that differs between file and data unit is an error: boxes would be normalised by the
    wrong size (typically an EXIF rotation).
    """
    n = len(targets)
    width = np.full(n, np.nan)
    height = np.full(n, np.nan)
    for k, unit in enumerate(targets):
        fw, fh = file_sizes[0][k], file_sizes[1][k]
        if (fw != -1 and fw <= 0) or (fh != -1 and fh <= 0):  # -1: the reader's "not given"
            raise ImportFormatError(
                source,
                f"images[{k}]",
                f"image {labels[k]} has size {fw}x{fh}",
                "width and height must be positive pixel counts",
            )
        if unit is None:
            continue
        if unit.width and unit.height:
            if fw > 0 and fh > 0 and (fw, fh) != (unit.width, unit.height):
                raise ImportFormatError(
                    source,
                    f"images[{k}]",
                    f"image {labels[k]} is {fw}x{fh} in the file but data unit {unit.title!r} is "
                    f"{unit.width}x{unit.height}",
                    "check the image map, or the orientation the file's sizes were taken in",
                )
            width[k], height[k] = unit.width, unit.height
        elif fw > 0 and fh > 0:
            width[k], height[k] = fw, fh
    return width, height


def _clip_boxes(
    bbox: NDArray[np.float64],
    width: NDArray[np.float64],
    height: NDArray[np.float64],
    used: NDArray[np.bool_],
) -> tuple[list[list[float]], list[bool]]:
    """``coco_bbox_to_box``'s clipping for whole columns: normalised (h, w, x, y) and flags."""
    x, y, w, h = bbox[:, 0], bbox[:, 1], bbox[:, 2], bbox[:, 3]
    x0 = np.minimum(np.maximum(x, 0.0), width)
    y0 = np.minimum(np.maximum(y, 0.0), height)
    x1 = np.maximum(np.minimum(x + w, width), x0)
    y1 = np.maximum(np.minimum(y + h, height), y0)
    cw, ch = x1 - x0, y1 - y0
    # Compare edges, not ``x1 - x0`` with ``w``: float rounding must not count as clipping.
    clipped = (x0 != x) | (y0 != y) | (x + w > width) | (y + h > height)
    out_x = np.where(clipped, x0, x) / width
    out_y = np.where(clipped, y0, y) / height
    out_w = np.where(clipped, cw, w) / width
    out_h = np.where(clipped, ch, h) / height
    stacked = np.stack([out_h, out_w, out_x, out_y], axis=1)
    # These boxes skip BoundingBoxCoordinates, so check its rule (fractions in 0..1) as a column.
    bad = used & ~np.all((stacked >= -TOLERANCE) & (stacked <= 1 + TOLERANCE), axis=1)
    if bad.any():
        raise CoordinatesError(f"box {int(np.flatnonzero(bad)[0])} is not inside the image")
    return stacked.tolist(), clipped.tolist()


def _check_normalised(
    source: str, bbox: NDArray[np.float64], width: NDArray[np.float64], height: NDArray[np.float64]
) -> None:
    """The encord-active #534 trap: fractions where COCO wants pixels, for the whole file."""
    if bbox.shape[0] == 0:
        return
    small = np.all(np.abs(bbox) <= 1.0) and np.all(np.maximum(width, height) > 2)
    if small:
        raise ImportFormatError(
            source,
            "annotations",
            "every bbox value is <= 1, so the boxes look normalised (0..1), but COCO bbox is in "
            "pixels [x, y, width, height]",
            "multiply by the image width/height, or import the file as YOLO",
        )


class _Geometry:
    """Per-annotation conversions for shapes that cannot be done as columns."""

    def __init__(self, parsed: CocoFile, prefix: str, ontology: OntologyStructure) -> None:
        self.source = parsed.source
        self.prefix = prefix
        self.ann = parsed.annotations
        self.templates = {t.feature_node_hash: t for t in ontology.skeleton_templates}

    def where(self, i: int, field: str) -> str:
        return f"{self.prefix}[{i}].{field}" if self.prefix else f"[{i}].{field}"

    def segmentation(self, i: int) -> Any:
        segm = self.ann.segmentation
        value = segm[i] if segm is not None else None
        if isinstance(value, CocoRle):
            return {"size": value.size, "counts": value.counts}
        return value or None

    def box(self, i: int, w: float, h: float) -> tuple[BoundingBoxCoordinates, bool]:
        if self.ann.has_bbox[i]:
            bbox = self.ann.bbox[i].tolist()
        else:
            segm = self.segmentation(i)
            if segm is None:
                raise ImportFormatError(self.source, self.where(i, "bbox"), "has no bbox")
            _, bbox = segmentation_area_bbox(segm, int(w), int(h))
        return coco_bbox_to_box(bbox, int(w), int(h), self.source, self.where(i, "bbox"))

    def convert(
        self, i: int, target: ObjectTarget, w: float, h: float, keypoint_names: Sequence[str] | None
    ) -> tuple[Any, bool]:
        shape = target.shape
        width, height = int(w), int(h)
        if shape == "bounding_box":
            return self.box(i, w, h)
        if shape == "rotatable_bounding_box":
            b, clipped = self.box(i, w, h)
            coords = RotatableBoundingBoxCoordinates(
                b.height, b.width, b.top_left_x, b.top_left_y, 0.0
            )
            return coords, clipped
        segm = self.segmentation(i)
        where = self.where(i, "segmentation")
        if shape == "polygon":
            if isinstance(segm, list):
                return coco_polygon_to_polygon(segm, width, height, self.source, where)
            if segm is not None:
                raise ImportFormatError(
                    self.source,
                    where,
                    f"an RLE mask cannot become the polygon object {target.title!r}",
                    "add a bitmask object with this name to the ontology",
                )
            b, clipped = self.box(i, w, h)
            x0, y0 = b.top_left_x, b.top_left_y
            x1, y1 = x0 + b.width, y0 + b.height
            ring = [
                PointCoordinate(x0, y0),
                PointCoordinate(x1, y0),
                PointCoordinate(x1, y1),
                PointCoordinate(x0, y1),
            ]
            return PolygonCoordinates(polygons=[[ring]]), clipped
        if shape == "bitmask":
            if isinstance(segm, list):
                return coco_polygon_to_bitmask(segm, width, height, self.source, where), False
            if segm is None:
                raise ImportFormatError(
                    self.source, where, f"the bitmask object {target.title!r} needs a segmentation"
                )
            return coco_rle_to_bitmask(segm, width, height, self.source, where), False
        if shape == "skeleton":
            return self.skeleton(i, target, width, height, keypoint_names)
        raise ImportFormatError(
            self.source,
            self.where(i, "category_id"),
            f"COCO geometry cannot become the {shape} object {target.title!r}",
            "map the category to a box, polygon, bitmask or skeleton object",
        )

    def skeleton(
        self, i: int, target: ObjectTarget, w: int, h: int, names: Sequence[str] | None
    ) -> tuple[Any, bool]:
        kps = self.ann.keypoints[i] if self.ann.keypoints is not None else None
        where = self.where(i, "keypoints")
        if not kps:
            raise ImportFormatError(
                self.source, where, f"skeleton {target.title!r} needs keypoints"
            )
        template = self.templates.get(target.feature_hash)
        points = list(template.skeleton.values()) if template is not None else []
        by_name = {str(p.get("name")): p.get("featureHash") for p in points}
        if not names:
            names = [str(p.get("name")) for p in points]
        hashes = [by_name.get(n) for n in names] if points else None
        return coco_keypoints_to_skeleton(
            kps, names, w, h, hashes, target.title, self.source, where
        )


def _gt_extra(parsed: CocoFile, i: int) -> dict[str, Any]:
    """COCO facts evaluation needs back from ground truth (kept under the entry's ``coco`` key)."""
    ann = parsed.annotations
    coco: dict[str, Any] = {"iscrowd": int(ann.iscrowd[i])}
    area = float(ann.area[i])
    if not math.isnan(area):
        coco["area"] = area
    if ann.has_bbox[i]:
        coco["bbox"] = ann.bbox[i].tolist()
    if ann.ids[i] is not None:
        coco["id"] = ann.ids[i]
    return {"coco": coco}


def convert_annotations(
    parsed: CocoFile,
    prefix: str,
    scores: NDArray[np.float64],
    img_index: NDArray[np.int64],
    cat_index: NDArray[np.int64],
    img_targets: Sequence[UnitTarget | None],
    cat_targets: Sequence[ObjectTarget | None],
    file_sizes: tuple[Sequence[int], Sequence[int]],
    keypoint_names: Sequence[Sequence[str] | None],
    image_labels: Sequence[str],
    ontology: OntologyStructure,
    report: CocoImportReport,
    *,
    progress: bool = False,
) -> Plan:
    """Every annotation whose image and category matched, converted and validated."""
    source = parsed.source
    ann = parsed.annotations
    img_width, img_height = effective_sizes(source, img_targets, file_sizes, image_labels)
    cat_ok = np.array([t is not None for t in cat_targets] + [False], dtype=np.bool_)
    img_ok = np.array([t is not None for t in img_targets] + [False], dtype=np.bool_)
    keep = cat_ok[cat_index] & img_ok[img_index]
    width, height = img_width[img_index], img_height[img_index]
    unsized = keep & ~(np.isfinite(width) & np.isfinite(height))
    if unsized.any():
        k = int(img_index[int(np.flatnonzero(unsized)[0])])
        raise ImportFormatError(
            source,
            f"images[{k}]",
            f"image {image_labels[k]} has no size in the file or the project",
            "register the data unit with its width and height",
        )
    boxed = keep & ann.has_bbox
    _check_normalised(source, ann.bbox[boxed], width[boxed], height[boxed])
    with np.errstate(invalid="ignore", divide="ignore"):
        boxes, box_clipped = _clip_boxes(ann.bbox, width, height, boxed)
    converter = _Geometry(parsed, prefix, ontology)
    gt = report.ground_truth
    score_list = scores.tolist()
    img_list, cat_list = img_index.tolist(), cat_index.tolist()
    has_bbox = ann.has_bbox.tolist()
    plan: Plan = {}
    per_class: Counter[str] = Counter()
    clipped = missing = 0
    kept = np.flatnonzero(keep).tolist()
    with progress_bar(progress, f"reading {len(kept)} annotations", len(kept)) as advance:
        for step, i in enumerate(kept):
            target = cat_targets[cat_list[i]]
            unit = img_targets[img_list[i]]
            if target is None or unit is None:  # excluded by ``keep``; keeps mypy honest
                continue
            try:
                box: list[float] | None = None
                if target.shape == "bounding_box" and has_bbox[i]:
                    coords: Any = None
                    box = boxes[i]
                    was_clipped = box_clipped[i]
                else:
                    coords, was_clipped = converter.convert(
                        i, target, width[i], height[i], keypoint_names[cat_list[i]]
                    )
            except CoordinatesError as exc:
                raise ImportFormatError(source, converter.where(i, "geometry"), str(exc)) from None
            clipped += was_clipped
            if gt:
                confidence, extra = 1.0, _gt_extra(parsed, i)
            else:
                confidence, extra = score_list[i], None
                if confidence != confidence:  # NaN: no score in the file
                    confidence, missing = 1.0, missing + 1
            plan.setdefault(unit.data_hash, []).append(
                PlannedObject(target.feature_hash, unit.frame, coords, confidence, extra, box)
            )
            per_class[target.title] += 1
            if step % 10000 == 9999:
                advance(10000)
        advance(len(kept) % 10000)
    report.objects = len(kept)
    report.clipped = clipped
    report.missing_scores = missing
    report.per_class = dict(per_class)
    return plan
