"""COCO files (results lists or dataset dicts) into a project branch, all or nothing.

Planning reads the file once into columns (``formats.coco_reader``), matches categories and images,
converts and validates every annotation's geometry, and touches nothing; a dry run stops there.
Writing (``write_plan``, shared with the YOLO and VOC importers) is one transaction through
``services.rows.write_rows``, in chunks of rows so memory stays flat.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from predscope.exceptions import ImportFormatError
from predscope.formats.coco_mapping import (
    CocoId,
    ImageMatch,
    MappingReport,
    UnitTarget,
    id_key,
    load_map_file,
    match_categories,
    match_images,
    shape_preference,
)
from predscope.formats.coco_reader import CocoFile, index_of, read_coco
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.imports.coco_convert import convert_annotations
from predscope.services.imports.options import ImportOptions, MapInput
from predscope.services.imports.report import ImportReport
from predscope.services.imports.writer import (
    UnitPlan,
    find_ground_truth_import,
    handle_unmatched,
    object_targets,
    paused_gc,
    refuse_empty,
    unit_targets,
    write_plan,
)
from predscope.services.progress import Progress
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from predscope.utilities.coco.datastructure import FrameIndex

__all__ = [
    "ImportReport",
    "category_shapes",
    "import_coco",
    "import_coco_into",
    "import_coco_labels",
]

_ORIGINS = {
    "file": "listed in the file",
    "gt": "listed in the --gt file",
    "recorded": "recorded when the ground truth was imported from COCO",
    "maps": "named by the maps",
}


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ImportFormatError(str(path), "", f"cannot read the file ({exc.strerror})") from None


def _as_map(value: MapInput, what: str) -> tuple[dict[str, str] | None, str]:
    if value is None:
        return None, what
    if isinstance(value, str | Path):
        return load_map_file(value), str(value)
    return {str(k): str(v) for k, v in value.items()}, what


def _one_field(data: bytes, parsed: CocoFile, field: str, kind: Any, hint: str) -> list[Any]:
    """Every annotation's ``field`` (None where absent), by a second, narrow decode.

    The reader keeps the columns every import needs; rarer fields are read only when asked for.
    """
    item: Any = msgspec.defstruct("OneField", [(field, kind | None, None)])
    try:
        if parsed.kind == "results":
            anns = msgspec.json.decode(data, type=list[item])
        else:
            holder: Any = msgspec.defstruct("Holder", [("annotations", list[item], [])])
            anns = msgspec.json.decode(data, type=holder).annotations
    except msgspec.ValidationError as exc:
        raise ImportFormatError(parsed.source, "", f"{field}: {exc}", hint) from None
    return [getattr(a, field) for a in anns]


def _custom_scores(data: bytes, field: str, parsed: CocoFile) -> NDArray[np.float64]:
    """Read the score under another name (``--score-field``), exactly as written."""
    values = _one_field(data, parsed, field, float, "the score field must hold numbers")
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _attributes(data: bytes, parsed: CocoFile) -> list[dict[str, Any] | None] | None:
    """Each annotation's ``attributes`` object (None without one); None when the file has none."""
    if b'"attributes"' not in data:
        return None
    values = _one_field(
        data, parsed, "attributes", dict[str, Any], "attributes must be a JSON object"
    )
    return values if any(values) else None


class _Catalogue:
    """The images and categories an annotation file refers to, wherever they came from."""

    def __init__(self) -> None:
        self.image_ids: list[Any] = []
        self.file_names: list[str] = []
        self.widths: list[int] = []
        self.heights: list[int] = []
        self.category_ids: list[Any] = []
        self.category_names: list[str] = []
        self.keypoints: list[tuple[str, ...] | None] = []
        self.recorded: dict[str, UnitTarget] | None = None
        self.origin = "file"

    def from_file(self, parsed: CocoFile, origin: str) -> None:
        images, cats = parsed.images, parsed.categories
        if images is None or cats is None:
            raise ImportFormatError(
                parsed.source,
                "",
                "a results list cannot serve as ground truth",
                "pass the COCO dataset file (with images and categories)",
            )
        self.image_ids = list(images.ids)
        self.file_names = [n or "" for n in images.file_names]
        self.widths, self.heights = images.width.tolist(), images.height.tolist()
        self.category_ids = list(cats.ids)
        self.category_names = list(cats.names)
        self.keypoints = list(cats.keypoints)
        self.origin = origin

    def from_ids(self, parsed: CocoFile) -> None:
        ann = parsed.annotations
        for ids, out in ((ann.image_id, self.image_ids), (ann.category_id, self.category_ids)):
            seq = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
            out.extend(dict.fromkeys(seq))
        self.file_names = [""] * len(self.image_ids)
        self.widths = [-1] * len(self.image_ids)
        self.heights = [-1] * len(self.image_ids)
        self.category_names = [""] * len(self.category_ids)
        self.keypoints = [None] * len(self.category_ids)
        self.origin = "maps"

    def from_record(self, params: Mapping[str, Any], units: list[UnitTarget]) -> None:
        by_key = {(u.data_hash, u.frame): u for u in units}
        self.recorded = {}
        for image_id, file_name, data_hash, frame in params.get("images", []):
            self.image_ids.append(image_id)
            self.file_names.append(file_name)
            self.widths.append(-1)
            self.heights.append(-1)
            unit = by_key.get((data_hash, frame))
            if unit is not None:
                self.recorded[id_key(image_id)] = unit
        for category_id, name, keypoints in params.get("categories", []):
            self.category_ids.append(category_id)
            self.category_names.append(name)
            self.keypoints.append(tuple(keypoints) if keypoints else None)
        self.origin = "recorded"


def _catalogue(
    store: Store,
    project: ProjectRecord,
    parsed: CocoFile,
    units: list[UnitTarget],
    gt_path: str | Path | None,
    have_maps: bool,
) -> _Catalogue:
    cat = _Catalogue()
    if parsed.kind == "dataset":
        cat.from_file(parsed, "file")
    elif gt_path is not None:
        cat.from_file(read_coco(_read_bytes(gt_path), str(gt_path), "bbox"), "gt")
    elif (recorded := find_ground_truth_import(store, project)) is not None:
        cat.from_record(recorded.params, units)
    elif have_maps:
        cat.from_ids(parsed)
    else:
        raise ImportFormatError(
            parsed.source,
            "",
            "a COCO results list names no images or categories of its own, and this project's "
            "ground truth was not imported from COCO",
            "pass --gt with the COCO dataset the detections belong to, or --image-map and "
            "--category-map",
        )
    return cat


def _image_matches(
    cat: _Catalogue, units: list[UnitTarget], image_map: dict[str, str] | None, map_source: str
) -> MappingReport:
    pairs = list(zip(cat.image_ids, cat.file_names, strict=True))
    report = match_images(pairs, units, image_map=image_map, map_source=map_source)
    if cat.recorded is None:
        return report
    for i, match in enumerate(report.images):
        if match.how == "map":
            continue
        unit = cat.recorded.get(id_key(match.coco_id))
        reason = "" if unit is not None else "the data unit recorded for it no longer exists"
        how = "recorded" if unit is not None else "none"
        report.images[i] = ImageMatch(match.coco_id, match.file_name, how, unit, reason)
    return report


def _preferences(
    parsed: CocoFile, cat_index: NDArray[np.int64], category_ids: list[Any]
) -> dict[CocoId, tuple[str, ...]]:
    """Per category, the shapes its annotations' geometry fills best."""
    ann = parsed.annotations
    n = len(category_ids)
    flags = np.zeros((n + 1, 4), dtype=np.bool_)  # bbox, polygon, rle, keypoints
    flags[np.unique(cat_index[ann.has_bbox]), 0] = True
    segm = ann.segmentation or ()
    for i in _truthy(segm):
        flags[cat_index[i], 1 if isinstance(segm[i], list) else 2] = True
    flags[cat_index[_truthy(ann.keypoints or ())], 3] = True
    out: dict[CocoId, tuple[str, ...]] = {}
    for k, cid in enumerate(category_ids):
        bbox, polygon, rle, keypoints = (bool(v) for v in flags[k])
        out[cid] = shape_preference(bbox=bbox, polygon=polygon, rle=rle, keypoints=keypoints)
    return out


def _truthy(values: Sequence[Any]) -> list[int]:
    """Positions of the values that are set (a results list of boxes has no segmentation)."""
    if not any(values):
        return []
    return [i for i, v in enumerate(values) if v]


def _unmatched(index: NDArray[np.int64], targets: Sequence[Any]) -> Counter[int]:
    """Annotations per catalogue entry that matched nothing, entries in order of first use."""
    missing = np.array([t is None for t in targets] + [False], dtype=np.bool_)
    bad = index[missing[index]]
    present, first, counts = np.unique(bad, return_index=True, return_counts=True)
    ordered = np.argsort(first, kind="stable").tolist()
    return Counter({int(present[k]): int(counts[k]) for k in ordered})


def _locate(
    source: str, prefix: str, field: str, values: Any, ids: list[Any], origin: str
) -> NDArray[np.int64]:
    index = index_of(source, prefix, field, values, ids)
    missing = np.flatnonzero(index < 0)
    if missing.size:
        i = int(missing[0])
        value = values[i].item() if isinstance(values, np.ndarray) else values[i]
        what = "images" if field == "image_id" else "categories"
        raise ImportFormatError(
            source,
            f"{prefix}[{i}].{field}" if prefix else f"[{i}].{field}",
            f"{field} {value!r} is not among the {len(ids)} {what} "
            f"({_ORIGINS.get(origin, origin)})",
            f"{missing.size} annotation(s) refer to unknown {what}; fix the ids",
        )
    return index


def _plan(
    store: Store,
    project: ProjectRecord,
    ontology: OntologyStructure,
    parsed: CocoFile,
    scores: NDArray[np.float64],
    attributes: list[dict[str, Any] | None] | None,
    report: ImportReport,
    options: ImportOptions,
    gt_path: str | Path | None,
    progress: Progress | None,
    units: list[UnitTarget] | None = None,
) -> tuple[dict[str, UnitPlan], _Catalogue]:
    source = parsed.source
    prefix = "annotations" if parsed.kind == "dataset" else ""
    imap, imap_source = _as_map(options.image_map, "image map")
    cmap, cmap_source = _as_map(options.category_map, "category map")
    if units is None:
        units = unit_targets(store, project)
    have_maps = imap is not None or cmap is not None
    cat = _catalogue(store, project, parsed, units, gt_path, have_maps)
    ann = parsed.annotations
    img_index = _locate(source, prefix, "image_id", ann.image_id, cat.image_ids, cat.origin)
    cat_index = _locate(
        source, prefix, "category_id", ann.category_id, cat.category_ids, cat.origin
    )
    mapping = match_categories(
        zip(cat.category_ids, cat.category_names, strict=True),
        object_targets(ontology),
        category_map=cmap,
        map_source=cmap_source,
        prefer=_preferences(parsed, cat_index, cat.category_ids),
    )
    mapping.images = _image_matches(cat, units, imap, imap_source).images
    report.mapping = mapping
    report.mapping_source = cat.origin
    cat_targets = [m.target for m in mapping.categories]
    img_targets = [m.target for m in mapping.images]
    cat_labels = [
        f"{i!r} {n!r}" if n else repr(i)
        for i, n in zip(cat.category_ids, cat.category_names, strict=True)
    ]
    img_labels = [
        f"{i!r} {n!r}" if n else repr(i) for i, n in zip(cat.image_ids, cat.file_names, strict=True)
    ]
    bad_cat = _unmatched(cat_index, cat_targets)
    bad_img = _unmatched(img_index, img_targets)
    handle_unmatched(report, "category", bad_cat, cat_labels, options.on_unknown_category)
    handle_unmatched(report, "image", bad_img, img_labels, options.on_unknown_image)
    plan = convert_annotations(
        parsed,
        prefix,
        scores,
        img_index,
        cat_index,
        img_targets,
        cat_targets,
        (cat.widths, cat.heights),
        cat.keypoints,
        img_labels,
        ontology,
        report,
        attributes=attributes,
        progress=progress,
    )
    return plan, cat


def _ground_truth_params(cat: _Catalogue, mapping: MappingReport) -> dict[str, Any]:
    """Ids a later results import (and the exporter) reuse: image -> unit, category -> name."""
    images = [
        [m.coco_id, m.file_name, m.target.data_hash, m.target.frame]
        for m in mapping.images
        if m.target is not None
    ]
    categories = [
        [cid, name, list(kp) if kp else None]
        for cid, name, kp in zip(cat.category_ids, cat.category_names, cat.keypoints, strict=True)
    ]
    return {"ground_truth": True, "images": images, "categories": categories}


def import_coco(
    store: Store,
    project: ProjectRecord,
    path: str | Path,
    options: ImportOptions,
    *,
    gt_path: str | Path | None = None,
    score_field: str = "score",
    progress: Progress | None = None,
) -> ImportReport:
    """Import a COCO results list or dataset as ``options`` say (see the module docstring).

    ``gt_path`` gives a results list its images and categories; ``score_field`` names the
    annotation field holding the confidence.
    """
    return _import_bytes(
        store,
        project,
        _read_bytes(path),
        str(path),
        options,
        score_field=score_field,
        gt_path=gt_path,
        progress=progress,
    )


@paused_gc()  # millions of short-lived containers: a collector pass only walks them
def _import_bytes(
    store: Store,
    project: ProjectRecord,
    data: bytes,
    source: str,
    options: ImportOptions,
    *,
    score_field: str | None,
    gt_path: str | Path | None,
    progress: Progress | None,
    parsed: CocoFile | None = None,
    units: list[UnitTarget] | None = None,
    conn: Connection | None = None,
) -> ImportReport:
    started = time.perf_counter()
    digest = hashlib.sha256(data).hexdigest()
    if parsed is None:
        parsed = read_coco(data, source)
    if score_field is None:
        scores = np.full(len(parsed.annotations), np.nan)
    elif score_field == "score":
        scores = parsed.annotations.score
    else:
        scores = _custom_scores(data, score_field, parsed)
    attributes = _attributes(data, parsed)
    del data
    report = ImportReport(
        source=source,
        branch_name=options.branch_name,
        ground_truth=options.ground_truth,
        dry_run=options.dry_run,
        sha256=digest,
        kind=parsed.kind,
        annotations=len(parsed.annotations),
    )
    if not report.annotations:  # an empty list fails as such, before it needs a catalogue
        refuse_empty(report, options)
    ontology = OntologyStructure.from_dict(project.ontology)
    plan, cat = _plan(
        store,
        project,
        ontology,
        parsed,
        scores,
        attributes,
        report,
        options,
        gt_path,
        progress,
        units,
    )
    del parsed
    params: dict[str, Any] = {"score_field": score_field, "mapping_source": cat.origin}
    if options.ground_truth:
        params.update(_ground_truth_params(cat, report.mapping))
    write_plan(
        store,
        project,
        ontology,
        plan,
        report,
        options,
        kind="coco",
        params=params,
        progress=progress,
        conn=conn,
    )
    report.seconds = time.perf_counter() - started
    return report


def category_shapes(parsed: CocoFile) -> list[str]:
    """Per category of a COCO dataset, in file order, the shape its annotations fill best
    (the importer's own ranking, so an ontology built from it takes the file's geometry)."""
    cats = parsed.categories
    if cats is None:
        return []
    ids: list[Any] = list(cats.ids)
    prefix = "annotations" if parsed.kind == "dataset" else ""
    cat_ids = parsed.annotations.category_id
    index = _locate(parsed.source, prefix, "category_id", cat_ids, ids, "file")
    prefs = _preferences(parsed, index, ids)
    return [(prefs[cid] or ("bounding_box",))[0] for cid in ids]


def import_coco_into(
    conn: Connection,
    store: Store,
    project: ProjectRecord,
    parsed: CocoFile,
    data: bytes,
    units: list[UnitTarget],
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an already-read COCO dataset inside the caller's open write transaction ``conn``
    onto the given ``units`` (onboarding: the project and its units are created in the same
    transaction, so a bad record anywhere leaves nothing behind)."""
    return _import_bytes(
        store,
        project,
        data,
        parsed.source,
        options,
        score_field="score",
        gt_path=None,
        progress=progress,
        parsed=parsed,
        units=units,
        conn=conn,
    )


def import_coco_labels(
    store: Store,
    project: ProjectRecord,
    labels_dict: Mapping[str, Any],
    category_id_to_feature_hash: Mapping[Any, str],
    image_id_to_frame_index: Mapping[Any, FrameIndex],
    options: ImportOptions,
    *,
    confidence_field_name: str | None = None,
) -> ImportReport:
    """Encord's ``import_coco_labels``: explicit maps, and ids left out of them are skipped.

    Unlike Encord, predictions get ``manual_annotation=False``, scores are kept as given, and
    an import into a branch holding labels must say ``replace`` or ``append`` instead of
    duplicating every object. ``options`` gives the branch and mode; its maps and unknown-id
    policies are set here (the explicit maps, and skip).
    """
    import dataclasses

    import orjson

    try:
        data = orjson.dumps(labels_dict, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        raise ImportFormatError("labels_dict", "", f"cannot be written as JSON ({exc})") from None
    # Every id the dict names starts "deliberately unmapped" (empty value); the maps fill in.
    cmap = {id_key(c.get("id")): "" for c in labels_dict.get("categories", [])}
    cmap.update({id_key(k): str(v) for k, v in category_id_to_feature_hash.items()})
    imap = {id_key(i.get("id")): "" for i in labels_dict.get("images", [])}
    imap.update(
        {
            id_key(k): f"{v.data_hash}:{v.frame}" if v.frame else v.data_hash
            for k, v in image_id_to_frame_index.items()
        }
    )
    options = dataclasses.replace(
        options,
        on_unknown_category="skip",
        on_unknown_image="skip",
        image_map=imap,
        category_map=cmap,
    )
    return _import_bytes(
        store,
        project,
        data,
        "labels_dict",
        options,
        score_field=confidence_field_name,
        gt_path=None,
        progress=None,
    )
