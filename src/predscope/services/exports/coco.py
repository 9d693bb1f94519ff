"""A branch's labels as a COCO dataset (ground truth) or a COCO results list (predictions).

Ids are stable: when the project's ground truth came from COCO, the image and category ids that
import recorded are reused, so exported files line up with the original ones; otherwise images are
numbered 1..N in data-unit order and categories take the ontology object's id (one category per
object title, so a ``person`` box and a ``person`` mask share a category).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from predscope.exceptions import InvalidArgumentsError
from predscope.formats.coco_mapping import COCO_SHAPES
from predscope.formats.coco_pixels import box_bboxes
from predscope.formats.coco_writer import (
    ExportCategory,
    ExportImage,
    IouType,
    box_fields,
    coco_fields,
    dataset_dict,
    export_frame,
    write_json_items,
)
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_object_instance import ObjectInstance
from predscope.objects.ontology_structure import OntologyStructure
from predscope.objects.options import Option
from predscope.services.exports.files import atomic_output
from predscope.services.exports.listing import decoded_row, existing_records, stored_documents
from predscope.services.exports.listing_documents import (
    NOT_PLAIN,
    ObjectKinds,
    entry_coordinates,
    plain_objects,
)
from predscope.services.imports.writer import find_ground_truth_import
from predscope.services.rows import StoreRowBackend, paused_gc
from predscope.store import data_units as unit_repo
from predscope.store.branches import validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord, RowRecord

__all__ = ["attribute_answers", "export_coco", "export_coco_file", "write_coco_export"]


def _categories(
    ontology: OntologyStructure, recorded: Sequence[Sequence[Any]]
) -> tuple[list[ExportCategory], dict[str, ExportCategory]]:
    """One category per object title; recorded COCO ids first, then the object ids."""
    by_name = {str(rec[1]): rec for rec in recorded}
    taken = {rec[0] for rec in recorded}
    templates = {t.feature_node_hash: t for t in ontology.skeleton_templates}
    out: list[ExportCategory] = []
    by_title: dict[str, ExportCategory] = {}
    for obj in ontology.objects:
        shape = str(getattr(obj.shape, "value", obj.shape))
        if shape not in COCO_SHAPES or obj.name in by_title:
            continue
        rec = by_name.get(obj.name)
        keypoints = tuple(rec[2]) if rec is not None and len(rec) > 2 and rec[2] else None
        template = templates.get(obj.feature_node_hash)
        if keypoints is None and template is not None:
            keypoints = tuple(str(p.get("name")) for p in template.skeleton.values())
        if rec is not None:
            cid: int | str = rec[0]
        else:
            cid = int(obj.uid)
            while cid in taken:
                cid += 1000
        taken.add(cid)
        edges: tuple[tuple[int, int], ...] | None = None
        if template is not None:
            edges = tuple(
                (int(a) + 1, int(b) + 1)
                for a, ends in template.skeleton_edges.items()
                for b in ends
            )
        category = ExportCategory(cid, obj.name, "", keypoints, edges)
        out.append(category)
        by_title[obj.name] = category
    return out, by_title


def _images(
    store: Store, project: ProjectRecord, recorded: Sequence[Sequence[Any]]
) -> dict[tuple[str, int], ExportImage]:
    """(data hash, frame) -> image; recorded ids first, then numbers after the largest one."""
    known = {(str(r[2]), int(r[3])): (r[0], str(r[1])) for r in recorded}
    used = [r[0] for r in recorded if isinstance(r[0], int)]
    next_id = max(used, default=0) + 1
    with store.read() as conn:
        units = unit_repo.list_data_units(conn, project.id)
    out: dict[tuple[str, int], ExportImage] = {}
    for unit in units:
        frames: list[tuple[int, str, int | None, int | None]]
        if unit.data_type == "img_group":
            frames = [(im.frame, im.title, im.width, im.height) for im in unit.images]
        elif unit.data_type == "image":
            frames = [(0, unit.data_title, unit.width, unit.height)]
        else:
            continue  # videos and audio have no COCO image form
        for frame, title, width, height in frames:
            if not width or not height:
                continue
            key = (unit.data_hash, frame)
            image_id, file_name = known.get(key, (None, title))
            if image_id is None:
                image_id, next_id = next_id, next_id + 1
            out[key] = ExportImage(image_id, file_name, int(width), int(height))
    return out


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every annotation of one export needs: ids, categories, the output's kind."""

    branch: str
    records: list[RowRecord]
    categories: list[ExportCategory]
    by_title: dict[str, ExportCategory]
    images: dict[tuple[str, int], ExportImage]
    results: bool
    iou_type: IouType
    description: str


class _Renumber(Exception):
    """The stored annotation ids are missing or repeat: the export numbers them 1..N."""


def _plan(
    store: Store, project: ProjectRecord, branch_name: str, results: bool, iou_type: IouType
) -> _Plan:
    branch = validate_branch_name(branch_name)
    if iou_type not in ("auto", "bbox", "segm"):
        raise InvalidArgumentsError(f"export coco: iou_type={iou_type!r} - use auto, bbox or segm")
    ontology = OntologyStructure.from_dict(project.ontology)
    gt = find_ground_truth_import(store, project)
    recorded_images = gt.params.get("images", []) if gt is not None else []
    recorded_cats = gt.params.get("categories", []) if gt is not None else []
    categories, by_title = _categories(ontology, recorded_cats)
    images = _images(store, project, recorded_images)
    description = f"{project.title} / {branch}"
    records = existing_records(store, project, branch, False)  # a misspelt branch raises here
    return _Plan(branch, records, categories, by_title, images, results, iou_type, description)


# (object name, frame, coordinates, confidence, stored ``coco`` dict, attribute answers)
_Item = tuple[str, int, Any, float, Any, dict[str, Any] | None]


def _row_items(
    record: RowRecord,
    document: dict[str, Any],
    kinds: ObjectKinds,
    decode: Callable[[RowRecord, dict[str, Any]], LabelRowV2],
) -> list[_Item]:
    """Every annotation of a row in the decoder's order; plain rows straight from the JSON."""
    try:
        return [
            (kind.name, frame, entry_coordinates(e), e.get("confidence", 1.0), e.get("coco"), None)
            for _, kind, frames in plain_objects(document, record.unit.data_type, kinds)
            for frame, e in sorted(frames.items())
        ]
    except NOT_PLAIN:
        pass
    row = decode(record, document)
    items: list[_Item] = []
    for inst in row.get_object_instances():
        for ann in inst.get_annotations():
            stored = ann.extra.get("coco") if ann.extra else None
            answers = attribute_answers(inst, ann.frame)
            items.append(
                (inst.object_name, ann.frame, ann.coordinates, ann.confidence, stored, answers)
            )
    return items


# An annotation placed in the export: its category, its image and the row's item.
_Placed = tuple[ExportCategory, ExportImage, _Item]


def _placed(
    items: list[tuple[RowRecord, list[_Item]]],
    by_title: dict[str, ExportCategory],
    images: dict[tuple[str, int], ExportImage],
) -> list[_Placed]:
    """The batch's annotations that have a category and an image, in order."""
    kept: list[_Placed] = []
    for record, row_items in items:
        data_hash = record.unit.data_hash
        for item in row_items:
            category = by_title.get(item[0])
            image = images.get((data_hash, item[1])) if category is not None else None
            if category is not None and image is not None:
                kept.append((category, image, item))
    return kept


def _batch_bboxes(kept: list[_Placed]) -> dict[int, list[float]]:
    """Pixel bboxes of the batch's plain (unrotated) boxes, by position, found in one numpy
    pass (``coco_pixels.box_bboxes``, the same floats as ``box_to_coco_bbox`` one at a time);
    every other shape takes ``coco_fields`` as before."""
    at = [i for i, (_, _, item) in enumerate(kept) if type(item[2]) is BoundingBoxCoordinates]
    if not at:
        return {}
    boxes = []
    widths, heights = [], []
    for i in at:
        _, image, item = kept[i]
        c = item[2]
        boxes.append((c.top_left_x, c.top_left_y, c.width, c.height))
        widths.append(image.width)
        heights.append(image.height)
    return dict(zip(at, box_bboxes(boxes, widths, heights), strict=True))


def attribute_answers(inst: ObjectInstance, frame: int) -> dict[str, Any] | None:
    """An object's answers as COCO ``attributes``: text as given, radio as the option's title,
    checklist as a list of titles; dynamic attributes as answered on ``frame``; unanswered left
    out (``None`` when nothing is answered)."""
    out: dict[str, Any] = {}
    for attribute in inst.ontology_item.attributes:
        answer: Any = inst.get_answer(attribute, filter_frame=frame)
        if attribute.dynamic:
            answer = answer[0].answer if answer else None
        if isinstance(answer, Option):
            out[attribute.name] = answer.label
        elif isinstance(answer, list):
            if answer:
                out[attribute.name] = [a.label for a in answer]
        elif answer is not None and answer != "":
            out[attribute.name] = answer
    return out or None


def _annotations(
    store: Store, project: ProjectRecord, plan: _Plan, *, number: bool
) -> Iterator[dict[str, Any]]:
    """The export's annotations, row by row, read in batches.

    Ground truth keeps its imported ids when every annotation has one and none repeats; with
    ``number=False`` a missing or repeated id raises ``_Renumber`` (the caller starts again
    with ``number=True``, which numbers 1..N), so deciding never needs the whole list.
    """
    ontology = OntologyStructure.from_dict(project.ontology)
    backend = StoreRowBackend(store, project, ontology)
    kinds = ObjectKinds(ontology)

    def decode(record: RowRecord, document: dict[str, Any]) -> LabelRowV2:
        return decoded_row(record, document, ontology, backend)

    results, iou_type, by_title, images = plan.results, plan.iou_type, plan.by_title, plan.images
    seen: set[str] = set()
    count = 0
    for batch in stored_documents(store, plan.records):
        annotations: list[dict[str, Any]] = []
        with paused_gc():  # a batch makes many containers and no cycles
            rows = [(r, _row_items(r, d, kinds, decode)) for r, d in batch]
            kept = _placed(rows, by_title, images)
            del batch, rows
            bboxes = _batch_bboxes(kept)
            for i, (category, image, item) in enumerate(kept):
                coords, confidence, stored, answers = item[2:]
                stored = stored if isinstance(stored, dict) else None
                bbox = bboxes.get(i)
                if bbox is not None:  # a plain box, its pixels found with the batch's
                    fields = box_fields(bbox, results=results, stored=stored)
                else:
                    found = coco_fields(
                        coords,
                        image.width,
                        image.height,
                        results=results,
                        iou_type=iou_type,
                        stored=stored,
                        keypoint_names=category.keypoints,
                    )
                    if found is None:
                        continue
                    fields = found
                count += 1
                if results:
                    ann: dict[str, Any] = {
                        "image_id": image.id,
                        "category_id": category.id,
                        "score": confidence,
                    }
                    ann.update(fields)
                    if answers:
                        ann["attributes"] = answers
                    annotations.append(ann)
                    continue
                head: dict[str, Any] = {"image_id": image.id, "category_id": category.id}
                has_id = stored is not None and "id" in stored
                if has_id:
                    if not number:
                        key = repr(stored["id"])  # type: ignore[index]
                        if key in seen:
                            raise _Renumber
                        seen.add(key)
                    head["id"] = count if number else stored["id"]  # type: ignore[index]
                elif not number:
                    raise _Renumber
                ann = {**head, **fields}
                if answers:
                    ann["attributes"] = answers
                if number and not has_id:
                    ann["id"] = count
                annotations.append(ann)
            del kept, bboxes
        yield from annotations


def export_coco(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str = "main",
    results: bool = False,
    iou_type: IouType = "auto",
) -> dict[str, Any] | list[dict[str, Any]]:
    """The branch as a COCO dataset dict, or with ``results`` a results list with scores.

    ``iou_type`` (results only): ``auto`` writes boxes as ``bbox`` and masks/polygons as RLE
    ``segmentation``; ``bbox`` writes every object as a box; ``segm`` keeps masks only.
    Objects' attribute answers come out as a per-annotation ``attributes`` dict. For a branch
    too large to hold, ``write_coco_export`` writes the same JSON as it goes.
    """
    plan = _plan(store, project, branch_name, results, iou_type)
    if results:
        return list(_annotations(store, project, plan, number=False))
    try:
        annotations = list(_annotations(store, project, plan, number=False))
    except _Renumber:
        annotations = list(_annotations(store, project, plan, number=True))
    return dataset_dict(_ordered(plan), plan.categories, annotations, plan.description)


def _ordered(plan: _Plan) -> list[ExportImage]:
    return sorted(plan.images.values(), key=lambda im: (str(type(im.id)), im.id))


def write_coco_export(
    store: Store,
    project: ProjectRecord,
    out: BinaryIO,
    *,
    branch_name: str = "main",
    results: bool = False,
    iou_type: IouType = "auto",
    indent: bool = False,
) -> int:
    """Write ``export_coco``'s JSON to ``out`` as it is made; returns the annotations written.

    The bytes equal ``orjson.dumps`` of the whole export (``indent``: ``json.dumps(indent=2)``'s),
    yet only one batch of rows is held. A dataset whose stored ids turn out incomplete is written
    again with numbered ids: ``out`` is rewound when it can be, else the annotations wait in a
    temporary file.
    """
    plan = _plan(store, project, branch_name, results, iou_type)
    head, tail = export_frame(
        plan.results, _ordered(plan), plan.categories, plan.description, indent=indent
    )
    out.write(head)
    if results:
        count = write_json_items(
            _annotations(store, project, plan, number=False), out, indent=indent
        )
    else:
        count = _write_numbered(store, project, plan, out, indent)
    out.write(tail)
    return count


def _write_numbered(
    store: Store, project: ProjectRecord, plan: _Plan, out: BinaryIO, indent: bool
) -> int:
    """The dataset's annotations, first with the stored ids, again numbered if they fail."""
    seekable = out.seekable()
    with tempfile.TemporaryFile() as spare:
        target: BinaryIO = out if seekable else spare
        start = target.tell()
        try:
            count = write_json_items(
                _annotations(store, project, plan, number=False), target, indent=indent, level=1
            )
        except _Renumber:
            target.seek(start)
            target.truncate()
            count = write_json_items(
                _annotations(store, project, plan, number=True), target, indent=indent, level=1
            )
        if not seekable:
            spare.seek(0)
            shutil.copyfileobj(spare, out)
    return count


def export_coco_file(
    store: Store,
    project: ProjectRecord,
    path: str | Path,
    *,
    branch_name: str = "main",
    results: bool = False,
    iou_type: IouType = "auto",
) -> int:
    """Write the export to ``path`` (a temporary file renamed at the end, so a failed export
    leaves no half-written file); returns the number of annotations written."""
    with atomic_output(path) as out:
        return write_coco_export(
            store, project, out, branch_name=branch_name, results=results, iou_type=iou_type
        )
