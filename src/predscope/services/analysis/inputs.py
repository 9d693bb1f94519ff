"""Stored label rows of a branch -> the evaluation engine's columnar inputs.

Rows are read as the stored Encord label-row JSON, in chunks, without building ``LabelRowV2``
objects: evaluation needs only geometry, confidence and a few COCO extras.

Rules (the same for ground truth and predictions, so both share one image index):

* Images: one evaluation image per (data unit, frame) of the project. Data units in registration
  order (the store's id, the order ``add_data`` was given), then frames ascending: an image is
  frame 0, an image group one image per frame, a video ``number_of_frames`` frames. Ties in
  score between images are broken by this order, as pycocotools breaks them by image id; a COCO
  dataset registered in image-id order therefore evaluates exactly as pycocotools does.
* Categories: the ontology's top-level objects of shape bounding_box, rotatable_bounding_box,
  polygon, bitmask, polyline or skeleton (one with a skeleton template), in ontology order, each
  with the metric kind that measures it (``kinds.metric_kind``). Other objects (points, ...)
  are skipped.
* Pixels: normalised value x frame size, then the shortest decimal that normalises back to the
  stored value, so a COCO value such as 12.34 px survives the round trip bit-exactly.
* bbox: the box; a rotatable box's axis-aligned hull; a polygon's coordinate extent; a
  bitmask's ``toBbox``. Masks (objects of classes measured by ``segm``): a box or rotated box as
  its polygon, polygons rasterised with ``pycocotools.mask.frPyObjects`` (parts united, holes
  removed), bitmasks converted exactly. Rotated boxes (``rotated``): pixel x, y, w, h of the
  unrotated box and theta. Skeletons: [x, y, v] per template node (matched by name; v 2 visible
  or no visibility, 1 occluded, 0 invisible; [0, 0, 0] for a node the object lacks). Polylines:
  their points. For both, bbox is the extent of the object's points and area its w*h, as
  pycocotools' ``loadRes`` gives keypoint results.
* Ground truth imported from COCO: ``area``, ``iscrowd`` and the original ``bbox`` the
  importer kept under the entry's ``coco`` key are used as pycocotools uses the file's (editing
  the geometry drops them). Otherwise, and always for predictions (pycocotools' ``loadRes``
  recomputes area too), area is box w*h (a rotated box its own w*h), polygon and bitmask the
  mask's pixel count, and iscrowd False. score = the annotation's confidence (1 when absent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from predscope.evaluation.params import IouType
from predscope.exceptions import InvalidArgumentsError
from predscope.formats.row_geometry import frame_entries, needs_json
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.collector import (
    SHAPE_KIND,
    Attributes,
    BranchColumns,
    Collector,
    FloatArray,
    collect_copies,
    index_key,
    to_pixels,
)
from predscope.services.analysis.kinds import (
    EVAL_SHAPES,
    IouOption,
    keypoint_sigmas,
    metric_kind,
)
from predscope.services.rows import paused_gc
from predscope.store import label_rows as row_repo
from predscope.store.branch_rows import list_branch_rows
from predscope.store.records import ListedRow, ProjectRecord

__all__ = [
    "Attributes",
    "BranchColumns",
    "CategoryTable",
    "FloatArray",
    "FrameKey",
    "FrameTable",
    "branch_records",
    "branches_records",
    "category_table",
    "frame_table",
    "read_branch",
    "to_pixels",
]

FrameKey = tuple[str, int]

_CHUNK = 500


@dataclass(frozen=True)
class FrameTable:
    """The shared image index: (data_hash, frame) per image, with the frame's pixel size."""

    keys: tuple[FrameKey, ...]
    titles: tuple[str, ...]
    width: tuple[int, ...]
    height: tuple[int, ...]
    index: Mapping[FrameKey, int]


@dataclass(frozen=True)
class CategoryTable:
    """The evaluated ontology objects, in ontology order."""

    feature_hashes: tuple[str, ...]
    names: tuple[str, ...]
    shapes: tuple[str, ...]
    index: Mapping[str, int]
    kinds: tuple[IouType, ...] = ()  # the metric measuring each class (``kinds.metric_kind``)
    keypoints: tuple[tuple[str, ...] | None, ...] = ()  # skeleton classes: node names in order
    sigmas: tuple[tuple[float, ...] | None, ...] = ()  # skeleton classes: OKS sigma per node


def category_table(
    project: ProjectRecord, iou_type: IouOption = "auto", shapes_in: Sequence[str] = EVAL_SHAPES
) -> CategoryTable:
    """The evaluated classes (top-level objects whose shape is in ``shapes_in``) and their kinds."""
    ontology = OntologyStructure.from_dict(project.ontology)
    templates = {t.feature_node_hash: t for t in ontology.skeleton_templates}
    by_name = {t.name: t for t in ontology.skeleton_templates}
    hashes: list[str] = []
    names: list[str] = []
    shapes: list[str] = []
    kinds: list[IouType] = []
    nodes: list[tuple[str, ...] | None] = []
    sigmas: list[tuple[float, ...] | None] = []
    for obj in ontology.objects:
        shape = str(getattr(obj.shape, "value", obj.shape))
        if shape not in shapes_in:
            continue
        points: tuple[str, ...] | None = None
        if shape == "skeleton":  # measured node by node: needs its template's node list
            template = templates.get(obj.feature_node_hash) or by_name.get(obj.name)
            if template is None or not template.skeleton:
                continue
            ordered = sorted(template.skeleton.items(), key=lambda kv: index_key(kv[0]))
            points = tuple(str(p.get("name", k)) for k, p in ordered)
            sigmas.append(keypoint_sigmas(points, template.extra.get("sigmas")))
        else:
            sigmas.append(None)
        nodes.append(points)
        hashes.append(obj.feature_node_hash)
        names.append(obj.name)
        shapes.append(shape)
        kinds.append(metric_kind(shape, iou_type))
    if not hashes:
        raise InvalidArgumentsError(
            f"project {project.title!r}: its ontology has no bounding_box, rotatable_bounding_box, "
            "polygon, bitmask, polyline or skeleton object (a skeleton with its template), so "
            "there is nothing to evaluate - add such objects"
        )
    index = {h: i for i, h in enumerate(hashes)}
    return CategoryTable(
        tuple(hashes),
        tuple(names),
        tuple(shapes),
        index,
        tuple(kinds),
        tuple(nodes),
        tuple(sigmas),
    )


def frame_table(records: Sequence[ListedRow]) -> FrameTable:
    """The image index of a project from the row records of any branch (one per data unit)."""
    keys: list[FrameKey] = []
    titles: list[str] = []
    width: list[int] = []
    height: list[int] = []
    for record in records:
        unit = record.unit
        if unit.data_type == "img_group":
            for image in unit.images:
                keys.append((unit.data_hash, image.frame))
                titles.append(f"{unit.data_title}/{image.title}")
                width.append(image.width)
                height.append(image.height)
            continue
        if unit.data_type not in ("image", "video"):
            continue
        if unit.width is None or unit.height is None:
            continue  # no pixel size, so no pixel geometry: cannot be evaluated
        count = 1 if unit.data_type == "image" else max(int(unit.number_of_frames or 0), 0)
        for frame in range(count):
            keys.append((unit.data_hash, frame))
            titles.append(unit.data_title if count == 1 else f"{unit.data_title}#{frame}")
            width.append(int(unit.width))
            height.append(int(unit.height))
    return FrameTable(
        tuple(keys), tuple(titles), tuple(width), tuple(height), {k: i for i, k in enumerate(keys)}
    )


def read_branch(
    conn: Connection,
    project: ProjectRecord,
    records: Sequence[ListedRow],
    frames: FrameTable,
    cats: CategoryTable,
    *,
    ground_truth: bool,
) -> BranchColumns:
    """Every evaluated object of the rows in ``records`` (one branch), rows read in chunks.

    A row's stored geometry copy (``formats.row_geometry``) is decoded with the chunk's other
    copies as arrays; a row without one, or holding an object the copy cannot give (a class
    measured by another shape, a frame number of another data type), is read from its JSON.
    Both give the same columns. Each object gets the geometry its class's metric kind
    (``cats.kinds``) needs."""
    collector = Collector(frames, cats, ground_truth)
    present = [r for r in records if r.label_hash is not None and r.object_count]
    shape_kind = np.array([SHAPE_KIND[shape] for shape in cats.shapes], dtype=np.int64)
    with paused_gc():  # parsing documents: the cycle collector would take 80% of the time
        for start in range(0, len(present), _CHUNK):
            part = present[start : start + _CHUNK]
            copies = row_repo.load_geometry(conn, [str(r.label_hash) for r in part])
            copied = [r for r in part if not needs_json(copies.get(str(r.label_hash)))]
            parse = [r for r in part if needs_json(copies.get(str(r.label_hash)))]
            if copied:
                blobs = [copies[str(r.label_hash)] for r in copied]
                del copies
                parse += collect_copies(collector, copied, blobs, frames, cats, shape_kind)
            documents = row_repo.load_documents(conn, [str(r.label_hash) for r in parse])
            for record in parse:
                document = documents.get(str(record.label_hash)) or {}
                _collect_row(collector, record, document, frames)
            del documents
    columns = collector.finish()
    order = np.argsort(columns.image, kind="stable")
    if order.size and np.any(np.diff(order) < 0):
        columns = _take(columns, order)
    return columns


def _collect_row(
    collector: Collector, record: ListedRow, document: Mapping[str, Any], frames: FrameTable
) -> None:
    unit = record.unit
    where = f"project row {unit.data_title!r} (branch {record.branch_name!r})"
    answers = document.get("object_answers") or None
    for unit_doc in (document.get("data_units") or {}).values():
        for frame, labels in frame_entries(unit_doc, unit.data_type):
            image = frames.index.get((unit.data_hash, frame))
            if image is None:
                continue  # a frame outside the evaluated index (e.g. a unit without a size)
            for entry in labels.get("objects") or ():
                collector.add(f"{where} frame {frame}", image, entry, answers)


def _take(columns: BranchColumns, order: NDArray[np.intp]) -> BranchColumns:
    return BranchColumns(
        image=columns.image[order],
        category=columns.category[order],
        bbox=columns.bbox[order],
        area=columns.area[order],
        iscrowd=columns.iscrowd[order],
        score=columns.score[order],
        object_hashes=tuple(columns.object_hashes[i] for i in order),
        masks=None if columns.masks is None else tuple(columns.masks[i] for i in order),
        attributes=tuple(columns.attributes[i] for i in order) if columns.attributes else (),
        rotated=None if columns.rotated is None else columns.rotated[order],
        keypoints=None if columns.keypoints is None else tuple(columns.keypoints[i] for i in order),
        polylines=None if columns.polylines is None else tuple(columns.polylines[i] for i in order),
    )


def branch_records(conn: Connection, project: ProjectRecord, branch_name: str) -> list[ListedRow]:
    """One record per data unit of the project on this branch (``branch_rows``)."""
    return list_branch_rows(conn, project.id, (branch_name,))[0]


def branches_records(
    conn: Connection, project: ProjectRecord, branch_names: Sequence[str]
) -> list[list[ListedRow]]:
    """``branch_records`` of each branch, the data units read once for all."""
    return list_branch_rows(conn, project.id, branch_names)
