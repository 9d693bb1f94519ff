"""YOLO text labels and Pascal VOC XML into a project branch, with the COCO import's rules.

Same mapping (class names to ontology objects; file names, or stems, to data units), same report,
same refusal of a repeated import and the same single transaction (``import_writer.write_plan``).
Boxes that reach outside the image are clipped and counted. VOC ``difficult``/``truncated`` flags
of ground truth are kept under the per-frame entry's ``voc`` key for VOC-style evaluation.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predscope.exceptions import ImportFormatError
from predscope.formats.coco_mapping import (
    MappingReport,
    ObjectTarget,
    UnitTarget,
    match_categories,
    match_images,
)
from predscope.formats.voc import read_voc_dir
from predscope.formats.yolo import ClassMode, ScoreColumn, read_yolo_dir
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    RotatableBoundingBoxCoordinates,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.coco import _as_map
from predscope.services.imports.options import ImportOptions
from predscope.services.imports.report import ImportReport
from predscope.services.imports.writer import (
    Plan,
    PlannedObject,
    handle_unmatched,
    object_targets,
    unit_targets,
    write_plan,
)
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

__all__ = ["import_voc", "import_yolo"]

_BOX_SHAPES = ("bounding_box", "rotatable_bounding_box", "polygon")


class _Box:
    """One box of either format, normalised, with where it came from."""

    __slots__ = ("image", "label", "x", "y", "w", "h", "score", "where", "extra")

    def __init__(
        self,
        image: int,
        label: str,
        box: tuple[float, float, float, float],
        score: float | None,
        where: tuple[str, str],
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.image, self.label = image, label
        self.x, self.y, self.w, self.h = box
        self.score, self.where, self.extra = score, where, extra


def _digest(paths: Sequence[str], root: Path) -> str:
    """One sha256 over every file's relative name and bytes, so a re-import is recognised."""
    sha = hashlib.sha256()
    for path in sorted(paths):
        name = Path(path).relative_to(root) if root.is_dir() else Path(path).name
        sha.update(str(name).encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return sha.hexdigest()


def _clip(box: _Box) -> tuple[tuple[float, float, float, float], bool]:
    x0, y0 = min(max(box.x, 0.0), 1.0), min(max(box.y, 0.0), 1.0)
    x1, y1 = max(min(box.x + box.w, 1.0), x0), max(min(box.y + box.h, 1.0), y0)
    clipped = x0 != box.x or y0 != box.y or box.x + box.w > 1.0 or box.y + box.h > 1.0
    if not clipped:
        return (box.x, box.y, box.w, box.h), False
    return (x0, y0, x1 - x0, y1 - y0), True


def _coordinates(target: ObjectTarget, box: tuple[float, float, float, float], where: Any) -> Any:
    x, y, w, h = box
    if target.shape == "bounding_box":
        return BoundingBoxCoordinates(h, w, x, y)
    if target.shape == "rotatable_bounding_box":
        return RotatableBoundingBoxCoordinates(h, w, x, y, 0.0)
    if target.shape == "polygon":
        ring = [
            PointCoordinate(x, y),
            PointCoordinate(x + w, y),
            PointCoordinate(x + w, y + h),
            PointCoordinate(x, y + h),
        ]
        return PolygonCoordinates(polygons=[[ring]])
    raise ImportFormatError(
        where[0],
        where[1],
        f"a box cannot become the {target.shape} object {target.title!r}",
        "map the class to a bounding-box object",
    )


def _plan_boxes(
    boxes: list[_Box],
    images: list[tuple[str, str]],
    objects: list[ObjectTarget],
    units: list[UnitTarget],
    report: ImportReport,
    options: ImportOptions,
) -> Plan:
    labels = list(dict.fromkeys(b.label for b in boxes))
    imap, imap_source = _as_map(options.image_map, "image map")
    cmap, cmap_source = _as_map(options.category_map, "category map")
    mapping = match_categories(
        [(label, label) for label in labels],
        objects,
        category_map=cmap,
        map_source=cmap_source,
        prefer={label: _BOX_SHAPES for label in labels},
    )
    found = match_images(images, units, image_map=imap, map_source=imap_source, match_stem=True)
    report.mapping = MappingReport(mapping.categories, found.images)
    cat_targets = {m.coco_id: m.target for m in mapping.categories}
    img_targets = [m.target for m in found.images]
    bad_cat = Counter(labels.index(b.label) for b in boxes if cat_targets[b.label] is None)
    bad_img = Counter(b.image for b in boxes if img_targets[b.image] is None)
    handle_unmatched(report, "category", bad_cat, labels, options.on_unknown_category)
    handle_unmatched(
        report, "image", bad_img, [name for _, name in images], options.on_unknown_image
    )
    plan: Plan = {}
    per_class: Counter[str] = Counter()
    for box in boxes:
        target, unit = cat_targets[box.label], img_targets[box.image]
        if target is None or unit is None:
            continue
        clipped_box, clipped = _clip(box)
        if clipped and box.w > 0 and box.h > 0 and not (clipped_box[2] > 0 and clipped_box[3] > 0):
            raise ImportFormatError(
                box.where[0],
                box.where[1],
                f"the box (x {box.x:g}, y {box.y:g}, w {box.w:g}, h {box.h:g}, as fractions of "
                "the image) lies entirely outside its image",
                "check the coordinates and which image the box belongs to",
            )
        report.clipped += clipped
        coords = _coordinates(target, clipped_box, box.where)
        if report.ground_truth:
            confidence = 1.0
        elif box.score is None:
            confidence, report.missing_scores = 1.0, report.missing_scores + 1
        else:
            confidence = box.score
        extra = box.extra if report.ground_truth else None
        plan.setdefault(unit.data_hash, []).append(
            PlannedObject(target.feature_hash, unit.frame, coords, confidence, extra)
        )
        per_class[target.title] += 1
        report.objects += 1
    report.per_class = dict(per_class)
    return plan


class _Batch:
    """What one format's reader produced: boxes, the images they sit on, the files read."""

    __slots__ = ("fmt", "source", "boxes", "images", "digest", "sizes")

    def __init__(
        self,
        fmt: str,
        source: str | Path,
        boxes: list[_Box],
        images: list[tuple[str, str]],
        paths: Sequence[str],
        sizes: list[tuple[str, int, int]] | None = None,
    ) -> None:
        self.fmt, self.source, self.boxes, self.images = fmt, str(source), boxes, images
        self.digest = _digest(paths, Path(source))
        self.sizes = sizes


def _run(
    store: Store, project: ProjectRecord, batch: _Batch, options: ImportOptions
) -> ImportReport:
    started = time.perf_counter()
    fmt = batch.fmt
    report = ImportReport(
        source=batch.source,
        branch_name=options.branch_name,
        format=fmt,
        ground_truth=options.ground_truth,
        dry_run=options.dry_run,
        sha256=batch.digest,
        kind=fmt,
        annotations=len(batch.boxes),
        mapping_source="file",
    )
    ontology = OntologyStructure.from_dict(project.ontology)
    units = unit_targets(store, project)
    plan = _plan_boxes(batch.boxes, batch.images, object_targets(ontology), units, report, options)
    if batch.sizes is not None:
        _check_sizes(report, batch.sizes)
    params = {"format": fmt}
    write_plan(store, project, ontology, plan, report, options, kind=fmt, params=params)
    report.seconds = time.perf_counter() - started
    return report


def _check_sizes(report: ImportReport, sizes: list[tuple[str, int, int]]) -> None:
    """A VOC box is normalised by its file's size: that size must be the data unit's."""
    for match, (path, width, height) in zip(report.mapping.images, sizes, strict=True):
        unit = match.target
        if unit is None or not unit.width or not unit.height:
            continue
        if (width, height) != (unit.width, unit.height):
            raise ImportFormatError(
                path,
                "size",
                f"the file says {width}x{height} but data unit {unit.title!r} is "
                f"{unit.width}x{unit.height}",
                "check the image the annotation belongs to",
            )


def import_yolo(
    store: Store,
    project: ProjectRecord,
    path: str | Path,
    options: ImportOptions,
    *,
    class_names: Sequence[str] | str | Path | None = None,
    class_mode: ClassMode = "index",
    score_column: ScoreColumn = "auto",
) -> ImportReport:
    """Import a folder of YOLO ``.txt`` files (one per image, matched by stem to data units)."""
    files = read_yolo_dir(
        path, class_names=class_names, class_mode=class_mode, score_column=score_column
    )
    boxes = [
        _Box(k, b.label, (b.x, b.y, b.w, b.h), b.score, (f.path, f"line {b.line}"))
        for k, f in enumerate(files)
        for b in f.boxes
    ]
    images = [(f.image_key, f.image_key) for f in files]
    batch = _Batch("yolo", path, boxes, images, [f.path for f in files])
    return _run(store, project, batch, options)


def import_voc(
    store: Store,
    project: ProjectRecord,
    path: str | Path,
    options: ImportOptions,
    *,
    one_based: bool = True,
) -> ImportReport:
    """Import one Pascal VOC XML file or a folder of them (``<filename>`` matched to data units)."""
    files = read_voc_dir(path, one_based=one_based)
    boxes = [
        _Box(
            k,
            o.name,
            (o.x, o.y, o.w, o.h),
            o.score,
            (f.path, f"object[{o.index}]"),
            {"voc": {"difficult": o.difficult, "truncated": o.truncated}},
        )
        for k, f in enumerate(files)
        for o in f.objects
    ]
    images = [(str(k), f.file_name) for k, f in enumerate(files)]
    sizes = [(f.path, f.width, f.height) for f in files]
    batch = _Batch("voc", path, boxes, images, [f.path for f in files], sizes)
    return _run(store, project, batch, options)
