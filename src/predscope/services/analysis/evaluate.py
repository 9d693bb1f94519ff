"""Evaluate a stored prediction branch against ground truth with the one evaluation engine.

This is glue only: the stored rows become the engine's columnar inputs (``analysis_inputs``) and
``evaluate_coco`` computes every number. CLI, server and SDK show what this returns and never
compute metrics of their own, so every view agrees with pycocotools (lessons, section 2.1).
How images, categories, pixels, areas and crowd flags are derived is documented in
``analysis_inputs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import (
    CocoDetections,
    CocoGroundTruth,
    IntArray,
    Polylines,
    RleMasks,
)
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import CocoEvaluation, Outcome
from predscope.exceptions import InvalidArgumentsError
from predscope.services.analysis.inputs import (
    BranchColumns,
    CategoryTable,
    FrameKey,
    FrameTable,
    branch_records,
    branches_records,
    category_table,
    frame_table,
    read_branch,
)
from predscope.services.analysis.kinds import AREA_SHAPES, group_params
from predscope.services.branches import require_branch
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

IouKind = Literal["bbox", "segm"]
STAT_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
_OUTCOME_NAMES = {
    Outcome.TP: "TP",
    Outcome.FP: "FP",
    Outcome.IGNORED: "ignored",
    Outcome.NOT_EVALUATED: "not_evaluated",
}


@dataclass(frozen=True, eq=False)
class BranchEvaluation:
    """A branch measured against ground truth, with the keys to join results back to labels.

    Image index i is frame ``images[i]`` = (data_hash, frame); GT row j is object
    ``gt_object_hashes[j]`` and detection row k is ``detection_object_hashes[k]`` (rows as in
    ``ground_truth`` / ``detections``, which ``evaluation.outcomes`` indexes).
    """

    project_hash: str
    branch_name: str
    gt_branch: str
    iou_type: str
    evaluation: CocoEvaluation
    category_names: tuple[str, ...]
    category_feature_hashes: tuple[str, ...]
    images: tuple[FrameKey, ...]
    image_titles: tuple[str, ...]
    gt_object_hashes: tuple[str, ...]
    detection_object_hashes: tuple[str, ...]
    ground_truth: CocoGroundTruth
    detections: CocoDetections

    @property
    def stats(self) -> dict[str, float]:
        return dict(self.evaluation.stats)

    def per_class_rows(self) -> list[dict[str, Any]]:
        """The per-class table as plain data (-1 = the class has no ground truth)."""
        return [
            {
                "feature_hash": c.category_id,
                "name": c.name,
                "AP": c.ap,
                "AP50": c.ap50,
                "AP75": c.ap75,
                "AR100": c.ar,
                "num_gt": c.num_gt,
                "num_detections": c.num_detections,
            }
            for c in self.evaluation.per_class
        ]

    def to_dict(self, *, per_class: bool = True) -> dict[str, Any]:
        """The JSON form ``predscope analyse --json`` prints."""
        out: dict[str, Any] = {
            "project": self.project_hash,
            "branch": self.branch_name,
            "gt_branch": self.gt_branch,
            "iou_type": self.iou_type,
            "images": len(self.images),
            "ground_truth": self.ground_truth.num_annotations,
            "detections": self.detections.num_detections,
            "stats": {k: float(v) for k, v in self.evaluation.stats.items()},
        }
        if per_class:
            out["per_class"] = self.per_class_rows()
        return out

    def detection_outcomes(self, iou_thr: float = 0.5) -> list[dict[str, Any]]:
        """Each prediction's outcome at ``iou_thr``, joined back to its label object."""
        outcomes = self.evaluation.outcomes
        t = outcomes.threshold_index(iou_thr)
        dt = self.detections
        rows: list[dict[str, Any]] = []
        for k in range(dt.num_detections):
            image = int(dt.image[k])
            matched = int(outcomes.matched_gt[t, k])
            category = int(dt.category[k])
            rows.append(
                {
                    "object_hash": self.detection_object_hashes[k],
                    "data_hash": self.images[image][0],
                    "frame": self.images[image][1],
                    "category": self.category_names[category] if category >= 0 else None,
                    "score": float(dt.score[k]),
                    "outcome": _OUTCOME_NAMES[Outcome(int(outcomes.outcome[t, k]))],
                    "matched_object_hash": self.gt_object_hashes[matched] if matched >= 0 else None,
                    "iou": None if matched < 0 else float(outcomes.iou[t, k]),
                }
            )
        return rows

    def missed_ground_truth(self, iou_thr: float = 0.5) -> list[str]:
        """Object hashes of ground truth no prediction matched at ``iou_thr`` (false negatives)."""
        t = self.evaluation.outcomes.threshold_index(iou_thr)
        missed = np.flatnonzero(self.evaluation.outcomes.gt_missed[t])
        return [self.gt_object_hashes[int(j)] for j in missed]


def _project(store: Store, project: ProjectRecord | str) -> ProjectRecord:
    if isinstance(project, ProjectRecord):
        return project
    from predscope.services.projects import get_project

    return get_project(store, str(project))


def _check_iou_type(iou_type: str) -> IouKind:
    if iou_type not in ("bbox", "segm"):
        raise InvalidArgumentsError(
            f"evaluate branch: iou_type {iou_type!r} is not supported - use 'bbox' or 'segm'"
        )
    return "bbox" if iou_type == "bbox" else "segm"


def _masks(columns: BranchColumns, rows: IntArray | None = None) -> RleMasks | None:
    count = columns.image.size if rows is None else rows.size
    if count == 0:  # no objects: empty geometry satisfies every kind
        return RleMasks(size=np.zeros((0, 2), dtype=np.int64))
    if columns.masks is None:
        return None
    picked = columns.masks if rows is None else [columns.masks[i] for i in rows.tolist()]
    found = [m for m in picked if m is not None]
    if len(found) != len(picked):
        return None
    size = np.array([m["size"] for m in found], dtype=np.int64).reshape(-1, 2)
    return RleMasks(size=size, counts=tuple(m["counts"] for m in found))


def _rows(values: Any, rows: IntArray | None) -> Any:
    return values if rows is None or values is None else values[rows]


def _rotated(columns: BranchColumns, rows: IntArray | None) -> Any:
    count = columns.image.size if rows is None else rows.size
    if count == 0:
        return np.zeros((0, 5), dtype=np.float64)
    return _rows(columns.rotated, rows)


def _keypoints(columns: BranchColumns, rows: IntArray | None, nodes: int) -> Any:
    picked = range(columns.image.size) if rows is None else rows.tolist()
    stored = () if columns.keypoints is None else columns.keypoints
    found = [k for k in (stored[i] for i in picked) if k is not None and k.shape[0] == nodes]
    if len(found) != len(picked):
        raise InvalidArgumentsError("keypoint inputs: every row needs the class's nodes")
    return np.stack(found) if found else np.zeros((0, nodes, 3), dtype=np.float64)


def _polylines(columns: BranchColumns, rows: IntArray | None) -> Polylines:
    picked = range(columns.image.size) if rows is None else rows.tolist()
    stored = () if columns.polylines is None else columns.polylines
    lines = [line for line in (stored[i] for i in picked) if line is not None]
    if len(lines) != len(picked):
        raise InvalidArgumentsError("polyline inputs: every row needs its points")
    return Polylines.from_lists(lines)


def ground_truth_inputs(
    columns: BranchColumns,
    frames: FrameTable,
    cats: CategoryTable,
    rows: IntArray | None = None,
    *,
    kind: str | None = None,
    nodes: int = 0,
) -> CocoGroundTruth:
    """The engine's ground truth of ``columns`` (or of its ``rows``), on every class of ``cats``.

    ``kind`` ``keypoints`` (``nodes`` per skeleton) or ``polyline`` adds that geometry."""
    keypoints = _keypoints(columns, rows, nodes) if kind == "keypoints" else None
    return CocoGroundTruth(
        num_images=len(frames.keys),
        category_ids=cats.feature_hashes,
        image=_rows(columns.image, rows),
        category=_rows(columns.category, rows),
        bbox=_rows(columns.bbox, rows),
        area=_rows(columns.area, rows),
        iscrowd=_rows(columns.iscrowd, rows),
        category_names=cats.names,
        image_ids=frames.keys,
        masks=_masks(columns, rows),
        rotated=_rotated(columns, rows),
        keypoints=keypoints,
        num_keypoints=None if keypoints is None else (keypoints[:, :, 2] > 0).sum(axis=1),
        polylines=_polylines(columns, rows) if kind == "polyline" else None,
        image_size=np.array([frames.width, frames.height], dtype=np.float64).T.reshape(-1, 2)
        if kind == "polyline"
        else None,
    )


def detection_inputs(
    columns: BranchColumns,
    rows: IntArray | None = None,
    *,
    kind: str | None = None,
    nodes: int = 0,
) -> CocoDetections:
    """The engine's detections of ``columns`` (or of its ``rows``)."""
    return CocoDetections(
        image=_rows(columns.image, rows),
        category=_rows(columns.category, rows),
        bbox=_rows(columns.bbox, rows),
        area=_rows(columns.area, rows),
        score=_rows(columns.score, rows),
        masks=_masks(columns, rows),
        rotated=_rotated(columns, rows),
        keypoints=_keypoints(columns, rows, nodes) if kind == "keypoints" else None,
        polylines=_polylines(columns, rows) if kind == "polyline" else None,
    )


@dataclass(frozen=True, eq=False)
class KindGroup:
    """The classes one metric kind measures: their objects' rows and the engine's inputs."""

    kind: str
    params: CocoParams
    classes: tuple[int, ...]  # the category indices this kind measures
    gt_rows: IntArray
    dt_rows: IntArray
    ground_truth: CocoGroundTruth
    detections: CocoDetections


def group_keys(cats: CategoryTable) -> list[tuple[str, int]]:
    """The group of each class: its kind, and for a skeleton also its own index (each skeleton
    template has its own nodes and sigmas, so each skeleton class is matched on its own)."""
    return [(k, i if k == "keypoints" else -1) for i, k in enumerate(cats.kinds)]


def kind_groups(
    gt_cols: BranchColumns, dt_cols: BranchColumns, frames: FrameTable, cats: CategoryTable
) -> list[KindGroup]:
    """One group per metric kind of ``cats`` (per class for skeletons), in class order.

    Each group's inputs keep every class (global category indices) but only the objects of its
    own classes, so the other classes have no ground truth there and accumulate to -1.
    """
    groups: list[KindGroup] = []
    kinds = list(cats.kinds)
    keys = group_keys(cats)
    whole = len(set(keys)) == 1
    for key in dict.fromkeys(keys):
        kind, index = key
        mine = np.array([k == key for k in keys], dtype=np.bool_)
        g_rows = np.flatnonzero(mine[gt_cols.category]).astype(np.int64)
        d_rows = np.flatnonzero(mine[dt_cols.category]).astype(np.int64)
        nodes = cats.keypoints[index] if index >= 0 else None
        sigmas = cats.sigmas[index] if index >= 0 else None
        extra: dict[str, Any] = {"kind": kind, "nodes": 0 if nodes is None else len(nodes)}
        groups.append(
            KindGroup(
                kind=kind,
                params=group_params(kind, kinds, sigmas),
                classes=tuple(int(k) for k in np.flatnonzero(mine)),
                gt_rows=g_rows,
                dt_rows=d_rows,
                ground_truth=ground_truth_inputs(
                    gt_cols, frames, cats, None if whole else g_rows, **extra
                ),
                detections=detection_inputs(dt_cols, None if whole else d_rows, **extra),
            )
        )
    return groups


def branch_inputs(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    iou_type: str = "bbox",
    frames: FrameTable | None = None,
    ground_truth: bool | None = None,
) -> CocoGroundTruth | CocoDetections:
    """The engine's inputs for one branch: ground truth for ``main`` (or ``ground_truth=True``).

    ``frames`` is the image index to place objects on; by default every frame of the project, so
    inputs of two branches built separately share it.
    """
    record = _project(store, project)
    kind = _check_iou_type(iou_type)
    is_gt = branch_name == MAIN_BRANCH if ground_truth is None else ground_truth
    cats = category_table(record, kind, AREA_SHAPES)
    with store.read() as conn:
        require_branch(conn, record, branch_name, allow_empty_main=False)
        records = branch_records(conn, record, branch_name)
        table = frames or frame_table(records)
        columns = read_branch(conn, record, records, table, cats, ground_truth=is_gt)
    if is_gt:
        return ground_truth_inputs(columns, table, cats)
    return detection_inputs(columns)


def evaluate_branch(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    gt_branch: str = MAIN_BRANCH,
    iou_type: str = "bbox",
    params: CocoParams | None = None,
) -> BranchEvaluation:
    """COCO metrics of ``branch_name`` against ``gt_branch``, read in one consistent snapshot."""
    record = _project(store, project)
    kind = _check_iou_type(iou_type)
    if params is not None and params.iou_type != kind:
        raise InvalidArgumentsError(
            f"evaluate branch: params.iou_type is {params.iou_type!r} but iou_type is {kind!r} "
            "- pass matching values"
        )
    if branch_name == gt_branch:
        raise InvalidArgumentsError(
            f"evaluate branch: branch {branch_name!r} is also the ground-truth branch - pick a "
            "prediction branch"
        )
    cats = category_table(record, kind, AREA_SHAPES)
    with store.read() as conn:
        require_branch(conn, record, gt_branch, allow_empty_main=False)
        require_branch(conn, record, branch_name, allow_empty_main=False)
        gt_records, dt_records = branches_records(conn, record, (gt_branch, branch_name))
        frames = frame_table(gt_records)
        gt_cols = read_branch(conn, record, gt_records, frames, cats, ground_truth=True)
        dt_cols = read_branch(conn, record, dt_records, frames, cats, ground_truth=False)
    gt = ground_truth_inputs(gt_cols, frames, cats)
    dt = detection_inputs(dt_cols)
    evaluation = evaluate_coco(gt, dt, params or CocoParams.default(kind))
    return BranchEvaluation(
        project_hash=record.project_hash,
        branch_name=branch_name,
        gt_branch=gt_branch,
        iou_type=kind,
        evaluation=evaluation,
        category_names=cats.names,
        category_feature_hashes=cats.feature_hashes,
        images=frames.keys,
        image_titles=frames.titles,
        gt_object_hashes=gt_cols.object_hashes,
        detection_object_hashes=dt_cols.object_hashes,
        ground_truth=gt,
        detections=dt,
    )
