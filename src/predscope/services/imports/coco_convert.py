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
from predscope.formats.coco_attributes import Answers, attribute_index, coco_answers
from predscope.formats.coco_checks import normalised_box_warning, unit_square_count
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
from predscope.objects.attributes import Attribute
from predscope.objects.coordinates import (
    TOLERANCE,
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    RotatableBoundingBoxCoordinates,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.report import ImportReport
from predscope.services.imports.writer import UnitPlan
from predscope.services.progress import Progress, progress_steps

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
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
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
    return stacked, clipped


def _check_normalised(
    source: str,
    bbox: NDArray[np.float64],
    width: NDArray[np.float64],
    height: NDArray[np.float64],
    report: ImportReport,
) -> None:
    """Fractions where COCO wants pixels: refused when every box fits the unit square, a warning
    in the report when most do (``formats.coco_checks``, shared with ``predscope eval``)."""
    total = int(bbox.shape[0])
    count = unit_square_count(bbox, width, height)
    if total and count == total:
        raise ImportFormatError(
            source,
            "annotations",
            f"all {total} boxes fit in the unit square (0..1), so they look normalised, but COCO "
            "bbox is in pixels [x, y, width, height]",
            "multiply by the image width/height, or import the file as YOLO",
        )
    warning = normalised_box_warning(count, total)
    if warning is not None:
        report.warnings.append(warning)


def _check_outside(
    source: str,
    prefix: str,
    bbox: NDArray[np.float64],
    clipped: NDArray[np.float64],
    sizes: tuple[NDArray[np.float64], NDArray[np.float64]],
    used: NDArray[np.bool_],
) -> None:
    """A box with an area whose clipped version has none lies entirely outside its image."""
    with np.errstate(invalid="ignore"):
        gone = used & (bbox[:, 2] > 0) & (bbox[:, 3] > 0)
        gone &= (clipped[:, 0] <= 0) | (clipped[:, 1] <= 0)
    if not gone.any():
        return
    i = int(np.flatnonzero(gone)[0])
    where = f"{prefix}[{i}].bbox" if prefix else f"[{i}].bbox"
    raise ImportFormatError(
        source,
        where,
        f"the box {bbox[i].tolist()} lies entirely outside its {int(sizes[0][i])}x"
        f"{int(sizes[1][i])} image ({int(np.count_nonzero(gone))} such box(es) in the file)",
        "check the annotation's image_id, and that bbox is [x, y, width, height] in pixels",
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
                    self.source,
                    where,
                    f"the bitmask object {target.title!r} needs a segmentation (this is a box)",
                    "import boxes into a box or polygon object; for a project made by "
                    "`project create --from-coco`, pass --shape bounding_box for box models",
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


def _answers(
    parsed: CocoFile,
    prefix: str,
    rows: list[int],
    feature_hashes: list[str],
    attributes: Sequence[dict[str, Any] | None],
    ontology: OntologyStructure,
    report: ImportReport,
) -> list[Answers | None]:
    """Per planned object, its COCO ``attributes`` as answers of its ontology object."""
    objects = {o.feature_node_hash: o for o in ontology.objects}
    indexes: dict[str, dict[str, Attribute]] = {}
    skipped: Counter[str] = Counter()
    out: list[Answers | None] = []
    for i, fh in zip(rows, feature_hashes, strict=True):
        values = attributes[i]
        if not values:
            out.append(None)
            continue
        if fh not in indexes:
            indexes[fh] = attribute_index(objects[fh])
        where = f"{prefix}[{i}].attributes" if prefix else f"[{i}].attributes"
        found, unknown = coco_answers(indexes[fh], values, parsed.source, where)
        for name in unknown:
            skipped[f"{name!r} (object {objects[fh].name!r})"] += 1
        out.append(found or None)
    report.skipped_attributes = dict(skipped)
    return out


def _unit_groups(
    img_kept: NDArray[np.int64], img_targets: Sequence[UnitTarget | None]
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[UnitTarget]]:
    """Kept annotations ordered by data unit (units by first appearance, file order inside).

    Returns that order, each unit's annotation count, and one target per unit (several COCO
    images can be frames of one image group).
    """
    slots: dict[str, int] = {}
    first_target: list[UnitTarget] = []
    img_unit = np.full(len(img_targets) + 1, -1, dtype=np.int64)
    for k, target in enumerate(img_targets):
        if target is not None:
            slot = slots.setdefault(target.data_hash, len(slots))
            if slot == len(first_target):
                first_target.append(target)
            img_unit[k] = slot
    unit_of = img_unit[img_kept]
    present, first = np.unique(unit_of, return_index=True)
    by_first = present[np.argsort(first, kind="stable")]
    rank = np.zeros(len(slots), dtype=np.int64)
    rank[by_first] = np.arange(by_first.size)
    ranked = rank[unit_of]
    order = np.argsort(ranked, kind="stable")
    counts = np.bincount(ranked, minlength=by_first.size)
    return order, counts, [first_target[int(u)] for u in by_first]


def _per_class(
    cat_kept: NDArray[np.int64], cat_targets: Sequence[ObjectTarget | None]
) -> dict[str, int]:
    """Objects per ontology object title, titles in order of first appearance in the file."""
    present, first, counts = np.unique(cat_kept, return_index=True, return_counts=True)
    per_class: Counter[str] = Counter()
    for k in np.argsort(first, kind="stable").tolist():
        target = cat_targets[int(present[k])]
        if target is not None:
            per_class[target.title] += int(counts[k])
    return dict(per_class)


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
    report: ImportReport,
    *,
    attributes: Sequence[dict[str, Any] | None] | None = None,
    progress: Progress | None = None,
) -> dict[str, UnitPlan]:
    """Every annotation whose image and category matched, converted and validated.

    Boxes onto box objects stay columns end to end; other geometry is converted one annotation
    at a time, in file order, so the first bad one is the one reported.
    """
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
    _check_normalised(source, ann.bbox[boxed], width[boxed], height[boxed], report)
    with np.errstate(invalid="ignore", divide="ignore"):
        boxes, box_clipped = _clip_boxes(ann.bbox, width, height, boxed)
    _check_outside(source, prefix, ann.bbox, boxes, (width, height), boxed)
    kept = np.flatnonzero(keep)
    order, counts, units = _unit_groups(img_index[kept], img_targets)
    rows = kept[order]  # annotation index per planned object, grouped by unit
    is_box = np.array(
        [t is not None and t.shape == "bounding_box" for t in cat_targets] + [False], np.bool_
    )
    fast = is_box[cat_index[rows]] & ann.has_bbox[rows]
    clipped = int(np.count_nonzero(box_clipped[rows] & fast))
    fh_of = np.array([t.feature_hash if t else "" for t in cat_targets] + [""], dtype=object)
    frame_of = np.array([t.frame if t else 0 for t in img_targets] + [0], dtype=np.int64)
    feature_hashes: list[str] = fh_of[cat_index[rows]].tolist()
    frames: list[int] = frame_of[img_index[rows]].tolist()
    box_rows = np.ascontiguousarray(boxes[rows], dtype=np.float64)
    box_list: list[Any] = box_rows.tolist()
    coords: list[Any] | None = None
    slow = np.flatnonzero(~fast)
    with progress_steps(progress, f"reading {rows.size} annotations", rows.size) as advance:
        if slow.size:
            coords = [None] * rows.size
            converter = _Geometry(parsed, prefix, ontology)
            # File order, so the error raised is the first bad annotation's.
            for step, pos in enumerate(slow[np.argsort(rows[slow], kind="stable")].tolist()):
                i = int(rows[pos])
                target = cat_targets[int(cat_index[i])]
                if target is None:  # excluded by ``keep``; keeps mypy honest
                    continue
                try:
                    coords[pos], was_clipped = converter.convert(
                        i, target, width[i], height[i], keypoint_names[int(cat_index[i])]
                    )
                except CoordinatesError as exc:
                    raise ImportFormatError(
                        source, converter.where(i, "geometry"), str(exc)
                    ) from None
                box_list[pos] = None
                clipped += was_clipped
                if step % 10000 == 9999:
                    advance(10000)
        advance(rows.size - (slow.size - slow.size % 10000))
    extras: list[dict[str, Any] | None] | None = None
    confidences: list[float]
    if report.ground_truth:
        confidences = [1.0] * rows.size
        score_rows = np.ones(rows.size, dtype=np.float64)
        extras = [_gt_extra(parsed, i) for i in rows.tolist()]
        missing = 0
    else:
        conf = scores[rows]
        absent = np.isnan(conf)  # no score in the file: confidence 1.0, and counted
        missing = int(np.count_nonzero(absent))
        score_rows = np.where(absent, 1.0, conf).astype(np.float64)
        confidences = score_rows.tolist()
    answers = None
    if attributes is not None:
        answers = _answers(
            parsed, prefix, rows.tolist(), feature_hashes, attributes, ontology, report
        )
    plan: dict[str, UnitPlan] = {}
    start = 0
    for unit, count in zip(units, counts.tolist(), strict=True):
        end = start + count
        unit_coords = None
        if coords is not None and any(c is not None for c in coords[start:end]):
            unit_coords = coords[start:end]
        plan[unit.data_hash] = UnitPlan(
            feature_hashes[start:end],
            frames[start:end],
            confidences[start:end],
            box_list[start:end],
            unit_coords,
            None if extras is None else extras[start:end],
            None if answers is None or not any(answers[start:end]) else answers[start:end],
            None if unit_coords is not None else box_rows[start:end],
            score_rows[start:end],
        )
        start = end
    report.objects = int(rows.size)
    report.clipped = clipped
    report.missing_scores = missing
    report.per_class = _per_class(cat_index[kept], cat_targets)
    return plan
