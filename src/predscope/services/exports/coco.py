"""A branch's labels as a COCO dataset (ground truth) or a COCO results list (predictions).

Ids are stable: when the project's ground truth came from COCO, the image and category ids that
import recorded are reused, so exported files line up with the original ones; otherwise images are
numbered 1..N in data-unit order and categories take the ontology object's id (one category per
object title, so a ``person`` box and a ``person`` mask share a category).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predscope.exceptions import InvalidArgumentsError
from predscope.formats.coco_mapping import COCO_SHAPES
from predscope.formats.coco_writer import (
    ExportCategory,
    ExportImage,
    IouType,
    coco_fields,
    dataset_dict,
    write_coco_json,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.branches import require_branch
from predscope.services.imports.writer import find_ground_truth_import
from predscope.services.rows import StoreRowBackend, list_label_rows
from predscope.store import data_units as unit_repo
from predscope.store.branches import validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

__all__ = ["export_coco", "export_coco_file"]


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
    """
    branch = validate_branch_name(branch_name)
    if iou_type not in ("auto", "bbox", "segm"):
        raise InvalidArgumentsError(f"export coco: iou_type={iou_type!r} - use auto, bbox or segm")
    ontology = OntologyStructure.from_dict(project.ontology)
    gt = find_ground_truth_import(store, project)
    recorded_images = gt.params.get("images", []) if gt is not None else []
    recorded_cats = gt.params.get("categories", []) if gt is not None else []
    categories, by_title = _categories(ontology, recorded_cats)
    images = _images(store, project, recorded_images)
    backend = StoreRowBackend(store, project, ontology)
    rows = [
        r
        for r in list_label_rows(store, project, ontology, backend=backend, branch_name=branch)
        if r.label_hash is not None
    ]
    if not rows:
        with store.read() as conn:  # a misspelt branch is an error, not an empty file
            require_branch(conn, project, branch)
    backend.initialise_rows(rows)
    annotations: list[dict[str, Any]] = []
    for row in rows:
        for inst in row.get_object_instances():
            category = by_title.get(inst.object_name)
            if category is None:
                continue
            for ann in inst.get_annotations():
                image = images.get((row.data_hash, ann.frame))
                if image is None:
                    continue
                stored = (ann.extra or {}).get("coco") if ann.extra else None
                fields = coco_fields(
                    ann.coordinates,
                    image.width,
                    image.height,
                    results=results,
                    iou_type=iou_type,
                    stored=stored if isinstance(stored, dict) else None,
                    keypoint_names=category.keypoints,
                )
                if fields is None:
                    continue
                head: dict[str, Any] = {"image_id": image.id, "category_id": category.id}
                if results:
                    head["score"] = ann.confidence
                elif isinstance(stored, dict) and "id" in stored:
                    head["id"] = stored["id"]
                annotations.append({**head, **fields})
    if results:
        return annotations
    _number_annotations(annotations)
    ordered = sorted(images.values(), key=lambda im: (str(type(im.id)), im.id))
    return dataset_dict(ordered, categories, annotations, f"{project.title} / {branch}")


def _number_annotations(annotations: list[dict[str, Any]]) -> None:
    """Keep the imported ids when they are complete and unique, else number 1..N in order."""
    ids = [a.get("id") for a in annotations]
    if None not in ids and len(set(map(repr, ids))) == len(ids):
        return
    for number, ann in enumerate(annotations, start=1):
        ann["id"] = number


def export_coco_file(
    store: Store,
    project: ProjectRecord,
    path: str | Path,
    *,
    branch_name: str = "main",
    results: bool = False,
    iou_type: IouType = "auto",
) -> int:
    """Write the export to ``path``; returns the number of annotations written."""
    payload = export_coco(
        store, project, branch_name=branch_name, results=results, iou_type=iou_type
    )
    write_coco_json(payload, path)
    return len(payload) if isinstance(payload, list) else len(payload["annotations"])
