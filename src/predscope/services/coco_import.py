"""COCO files (results lists or dataset dicts) into a project branch, all or nothing.

An import runs in two phases. Planning reads the file once into columns, matches categories and
images, converts every annotation's geometry and validates it, without touching the store; a dry
run stops there. Writing then happens in one transaction through ``services.rows.write_rows``, in
chunks of rows so memory stays flat. YOLO and VOC imports (``text_import``) reuse the writing phase.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from predscope.exceptions import ImportFormatError, InvalidArgumentsError, UnknownCategoryError
from predscope.formats.coco_mapping import (
    CocoId,
    ImageMatch,
    MappingReport,
    ObjectTarget,
    UnitTarget,
    id_key,
    load_map_file,
    match_categories,
    match_images,
    shape_preference,
)
from predscope.formats.coco_reader import CocoFile, index_of, read_coco
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.coco_plan import (
    CocoImportReport,
    Plan,
    convert_annotations,
    find_ground_truth_import,
    object_targets,
    unit_targets,
    write_plan,
)
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from predscope.utilities.coco.datastructure import FrameIndex

__all__ = ["CocoImportReport", "import_coco", "import_coco_labels"]

MapInput = str | Path | Mapping[str, str] | None


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


def _custom_scores(data: bytes, source: str, field: str, parsed: CocoFile) -> NDArray[np.float64]:
    """Read a score column under another name (``--score-field``), keeping it exactly as given."""
    item = msgspec.defstruct("ScoreOnly", [(field, float | None, None)], gc=False)
    try:
        if parsed.kind == "results":
            anns = msgspec.json.decode(data, type=list[item])  # type: ignore[valid-type]
        else:
            holder = msgspec.defstruct("Holder", [("annotations", list[item], [])])  # type: ignore[valid-type]
            anns = msgspec.json.decode(data, type=holder).annotations
    except msgspec.ValidationError as exc:
        raise ImportFormatError(source, "", f"score field {field!r}: {exc}") from None
    return np.array(
        [np.nan if getattr(a, field) is None else getattr(a, field) for a in anns], np.float64
    )


# -- where images and categories come from ----------------------------------------------------


class _Catalogue:
    """Images and categories an annotation file refers to, whichever file they came from."""

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
            raise InvalidArgumentsError(f"{parsed.source}: the ground-truth file must be a dataset")
        self.image_ids = list(images.ids)
        self.file_names = [n or "" for n in images.file_names]
        self.widths = images.width.tolist()
        self.heights = images.height.tolist()
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
        self.widths = self.heights = [-1] * len(self.image_ids)
        self.category_names = [""] * len(self.category_ids)
        self.keypoints = [None] * len(self.category_ids)
        self.origin = "maps"

    def from_record(self, params: Mapping[str, Any], units: list[UnitTarget]) -> None:
        by_key = {(u.data_hash, u.frame): u for u in units}
        self.recorded = {}
        for image_id, file_name, data_hash, frame in params.get("images", []):
            self.image_ids.append(image_id)
            self.file_names.append(file_name)
            unit = by_key.get((data_hash, frame))
            self.widths.append(-1)
            self.heights.append(-1)
            if unit is not None:
                self.recorded[id_key(image_id)] = unit
        for category_id, name, *rest in params.get("categories", []):
            self.category_ids.append(category_id)
            self.category_names.append(name)
            self.keypoints.append(tuple(rest[0]) if rest and rest[0] else None)
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
        return cat
    if gt_path is not None:
        cat.from_file(read_coco(_read_bytes(gt_path), str(gt_path), "bbox"), "gt")
        return cat
    recorded = find_ground_truth_import(store, project)
    if recorded is not None:
        cat.from_record(recorded.params, units)
        return cat
    if have_maps:
        cat.from_ids(parsed)
        return cat
    raise ImportFormatError(
        parsed.source,
        "",
        "a COCO results list names no images or categories of its own, and this project's ground "
        "truth was not imported from COCO",
        "pass --gt with the COCO dataset the detections belong to, or --image-map and "
        "--category-map",
    )


def _image_matches(
    cat: _Catalogue, units: list[UnitTarget], image_map: dict[str, str] | None, map_source: str
) -> MappingReport:
    pairs = list(zip(cat.image_ids, cat.file_names, strict=True))
    if cat.recorded is None:
        return match_images(pairs, units, image_map=image_map, map_source=map_source)
    report = match_images(pairs, units, image_map=image_map or {}, map_source=map_source)
    for i, match in enumerate(report.images):
        if match.how == "map":
            continue
        unit = cat.recorded.get(id_key(match.coco_id))
        reason = "" if unit is not None else "the data unit recorded for it no longer exists"
        report.images[i] = ImageMatch(
            match.coco_id, match.file_name, "recorded" if unit else "none", unit, reason
        )
    return report


def _preferences(
    parsed: CocoFile, cat_index: NDArray[np.int64], n_categories: int
) -> dict[CocoId, tuple[str, ...]]:
    ann = parsed.annotations
    flags = np.zeros((n_categories, 4), dtype=np.bool_)  # bbox, polygon, rle, keypoints
    np.logical_or.at(flags[:, 0], cat_index[cat_index >= 0], ann.has_bbox[cat_index >= 0])
    segm = ann.segmentation or ()
    kps = ann.keypoints or ()
    for i, value in enumerate(segm):
        if value is not None and cat_index[i] >= 0:
            flags[cat_index[i], 1 if isinstance(value, list) else 2] = True
    for i, value in enumerate(kps):
        if value and cat_index[i] >= 0:
            flags[cat_index[i], 3] = True
    ids = parsed.categories.ids if parsed.categories is not None else ()
    out: dict[CocoId, tuple[str, ...]] = {}
    for k in range(n_categories):
        bbox, polygon, rle, keypoints = (bool(v) for v in flags[k])
        key = ids[k] if k < len(ids) else k
        out[key] = shape_preference(bbox=bbox, polygon=polygon, rle=rle, keypoints=keypoints)  # type: ignore[index]
    return out


def _locate(
    source: str, prefix: str, field: str, values: Any, ids: list[Any], where: str
) -> NDArray[np.int64]:
    index = index_of(source, prefix, field, values, ids)
    missing = np.flatnonzero(index < 0)
    if missing.size:
        i = int(missing[0])
        value = values[i].item() if isinstance(values, np.ndarray) else values[i]
        raise ImportFormatError(
            source,
            f"{prefix}[{i}].{field}" if prefix else f"[{i}].{field}",
            f"{field} {value!r} is not among the {len(ids)} {where}",
            f"{missing.size} annotation(s) refer to unknown {where}; fix the ids",
        )
    return index


def _unmatched(
    report: CocoImportReport,
    kind: str,
    counts: Counter[int],
    labels: list[str],
    policy: str,
    source: str,
) -> None:
    if not counts:
        return
    skipped = {labels[k]: n for k, n in counts.items()}
    if policy == "skip":
        target = report.skipped_categories if kind == "category" else report.skipped_images
        target.update(skipped)
        return
    listed = ", ".join(f"{label} ({n} annotations)" for label, n in list(skipped.items())[:8])
    option = "--on-unknown-category skip" if kind == "category" else "--on-unknown-image skip"
    cls = UnknownCategoryError if kind == "category" else ImportFormatError
    raise cls(
        source,
        "categories" if kind == "category" else "images",
        f"{sum(counts.values())} annotation(s) in {len(counts)} {kind}(ies) match nothing in the "
        f"project: {listed}",
        f"add them to the project, pass a {kind} map, or {option}",
    )


def _plan_coco(
    store: Store,
    project: ProjectRecord,
    ontology: OntologyStructure,
    parsed: CocoFile,
    scores: NDArray[np.float64],
    report: CocoImportReport,
    *,
    gt_path: str | Path | None,
    image_map: MapInput,
    category_map: MapInput,
    on_unknown_category: str,
    on_unknown_image: str,
    progress: bool,
) -> tuple[Plan, _Catalogue]:
    source = parsed.source
    prefix = "annotations" if parsed.kind == "dataset" else ""
    imap, imap_source = _as_map(image_map, "image map")
    cmap, cmap_source = _as_map(category_map, "category map")
    units = unit_targets(store, project)
    cat = _catalogue(store, project, parsed, units, gt_path, imap is not None or cmap is not None)
    ann = parsed.annotations
    img_index = _locate(source, prefix, "image_id", ann.image_id, cat.image_ids, "images")
    cat_index = _locate(
        source, prefix, "category_id", ann.category_id, cat.category_ids, "categories"
    )
    prefer = _preferences(
        CocoFile(source, parsed.kind, ann, None, _ids_only(cat.category_ids)),
        cat_index,
        len(cat.category_ids),
    )
    objects = object_targets(ontology)
    mapping = match_categories(
        zip(cat.category_ids, cat.category_names, strict=True),
        objects,
        category_map=cmap,
        map_source=cmap_source,
        prefer=prefer,
    )
    images = _image_matches(cat, units, imap, imap_source)
    mapping.images = images.images
    report.mapping = mapping
    report.mapping_source = cat.origin
    cat_targets: list[ObjectTarget | None] = [m.target for m in mapping.categories]
    img_targets: list[UnitTarget | None] = [m.target for m in mapping.images]
    bad_cat = Counter(int(k) for k in cat_index if cat_targets[k] is None)
    bad_img = Counter(int(k) for k in img_index if img_targets[k] is None)
    cat_labels = [f"{i!r} {n!r}".strip() for i, n in zip(cat.category_ids, cat.category_names)]
    img_labels = [f"{i!r} {n!r}" for i, n in zip(cat.image_ids, cat.file_names, strict=True)]
    _unmatched(report, "category", bad_cat, cat_labels, on_unknown_category, source)
    _unmatched(report, "image", bad_img, img_labels, on_unknown_image, source)
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
        ontology,
        report,
        progress=progress,
    )
    return plan, cat


def _ids_only(ids: list[Any]) -> Any:
    from predscope.formats.coco_reader import CocoCategories

    n = len(ids)
    return CocoCategories(tuple(ids), ("",) * n, ("",) * n, (None,) * n, (None,) * n)


def _ground_truth_params(cat: _Catalogue, mapping: MappingReport) -> dict[str, Any]:
    """What a later results import (and the exporter) needs to reuse this file's ids."""
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
    *,
    branch_name: str,
    ground_truth: bool = False,
    dry_run: bool = False,
    replace: bool = False,
    on_unknown_category: str = "error",
    on_unknown_image: str = "error",
    gt_path: str | Path | None = None,
    image_map: MapInput = None,
    category_map: MapInput = None,
    score_field: str = "score",
    progress: bool = False,
) -> CocoImportReport:
    """Import a COCO results list or dataset into ``branch_name``; see the module docstring."""
    data = _read_bytes(path)
    return _import_bytes(
        store,
        project,
        data,
        str(path),
        branch_name=branch_name,
        ground_truth=ground_truth,
        dry_run=dry_run,
        replace=replace,
        on_unknown_category=on_unknown_category,
        on_unknown_image=on_unknown_image,
        gt_path=gt_path,
        image_map=image_map,
        category_map=category_map,
        score_field=score_field,
        progress=progress,
    )


def _import_bytes(
    store: Store,
    project: ProjectRecord,
    data: bytes,
    source: str,
    *,
    branch_name: str,
    ground_truth: bool,
    dry_run: bool,
    replace: bool,
    on_unknown_category: str,
    on_unknown_image: str,
    gt_path: str | Path | None,
    image_map: MapInput,
    category_map: MapInput,
    score_field: str | None,
    progress: bool,
) -> CocoImportReport:
    started = time.perf_counter()
    for name, value in (("on_unknown_category", on_unknown_category),
                        ("on_unknown_image", on_unknown_image)):
        if value not in ("error", "skip"):
            raise InvalidArgumentsError(f"import coco: {name}={value!r} - use 'error' or 'skip'")
    branch = validate_branch_name(branch_name)
    digest = hashlib.sha256(data).hexdigest()
    parsed = read_coco(data, source)
    if score_field is None:
        scores = np.full(len(parsed.annotations), np.nan)
    elif score_field == "score":
        scores = parsed.annotations.score
    else:
        scores = _custom_scores(data, source, score_field, parsed)
    del data
    report = CocoImportReport(
        source=source, branch_name=branch, ground_truth=ground_truth, dry_run=dry_run,
        sha256=digest, kind=parsed.kind, annotations=len(parsed.annotations),
    )
    ontology = OntologyStructure.from_dict(project.ontology)
    plan, cat = _plan_coco(
        store, project, ontology, parsed, scores, report,
        gt_path=gt_path, image_map=image_map, category_map=category_map,
        on_unknown_category=on_unknown_category, on_unknown_image=on_unknown_image,
        progress=progress,
    )
    del parsed
    params: dict[str, Any] = {"score_field": score_field, "mapping_source": cat.origin}
    if ground_truth:
        params.update(_ground_truth_params(cat, report.mapping))
    write_plan(
        store, project, ontology, plan, report,
        kind="coco", replace=replace, params=params, progress=progress,
    )
    report.seconds = time.perf_counter() - started
    return report


def import_coco_labels(
    store: Store,
    project: ProjectRecord,
    labels_dict: Mapping[str, Any],
    category_id_to_feature_hash: Mapping[Any, str],
    image_id_to_frame_index: Mapping[Any, FrameIndex],
    *,
    branch_name: str | None = None,
    confidence_field_name: str | None = None,
) -> CocoImportReport:
    """Encord's ``import_coco_labels`` signature: explicit maps, unmapped items skipped.

    Unlike Encord, predictions are stored with ``manual_annotation=False``, the score is kept as
    given, and importing the same dict twice into a branch is refused instead of duplicating it.
    """
    import orjson

    branch = branch_name or MAIN_BRANCH
    try:
        data = orjson.dumps(labels_dict, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        raise ImportFormatError("labels_dict", "", f"cannot be written as JSON ({exc})") from None
    cmap = {id_key(k): str(v) for k, v in category_id_to_feature_hash.items()}
    imap = {id_key(k): f"{v.data_hash}:{v.frame}" if v.frame else v.data_hash
            for k, v in image_id_to_frame_index.items()}
    # Only the explicit maps count, as in Encord: unmapped ids match nothing and are skipped.
    cmap_all = {**{id_key(c.get("id")): "\0" for c in labels_dict.get("categories", [])}, **cmap}
    imap_all = {**{id_key(i.get("id")): "\0" for i in labels_dict.get("images", [])}, **imap}
    return _import_bytes(
        store, project, data, "labels_dict",
        branch_name=branch, ground_truth=branch == MAIN_BRANCH, dry_run=False, replace=False,
        on_unknown_category="skip", on_unknown_image="skip", gt_path=None,
        image_map=_Explicit(imap_all), category_map=_Explicit(cmap_all),
        score_field=confidence_field_name, progress=False,
    )


class _Explicit(dict[str, str]):
    """A map where the value ``"\\0"`` means "deliberately unmapped" (Encord's skip semantics)."""
