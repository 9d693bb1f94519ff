"""Which metric measures each ontology class: decided here, once, from the class's shape.

``auto`` (the default) measures every top-level object class by its own shape: boxes by box IoU,
rotatable boxes by exact rotated IoU, polygons and bitmasks as masks, skeletons by OKS (nodes and
sigmas from the skeleton template), polylines by the polyline similarity. The run-level options
``bbox`` and ``segm`` override that for the box, rotated box, polygon and bitmask classes: ``bbox``
measures each of their objects by its axis-aligned box, ``segm`` by its mask (boxes and rotated
boxes as their polygon); skeletons and polylines keep their own metric.

A run groups its classes by metric kind (each skeleton class on its own: its own nodes and
sigmas), matches each group with that kind's COCO parameters and accumulates all classes
together (``records.aggregate``). Every group shares one layout (ten thresholds, 101 recall
points, maxDets, area ranges), so the summary is COCO's mean over all classes, exactly as COCO
would average a mixed category set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from predscope.evaluation.params import COCO_KEYPOINT_SIGMAS, IOU_TYPES, CocoParams, IouType
from predscope.exceptions import InvalidArgumentsError

IouOption = Literal["auto", "bbox", "segm"]
IOU_OPTIONS: tuple[IouOption, ...] = ("auto", "bbox", "segm")

# The shape of a top-level ontology object -> the metric kind that measures it under "auto".
SHAPE_KINDS: dict[str, IouType] = {
    "bounding_box": "bbox",
    "rotatable_bounding_box": "rotated",
    "polygon": "segm",
    "bitmask": "segm",
    "skeleton": "keypoints",
    "polyline": "polyline",
}
EVAL_SHAPES = tuple(SHAPE_KINDS)
# Shapes an override may re-measure (each has a box and a mask).
AREA_SHAPES = ("bounding_box", "rotatable_bounding_box", "polygon", "bitmask")


def check_iou_option(value: str, where: str = "analyse") -> IouOption:
    if value not in IOU_OPTIONS:
        raise InvalidArgumentsError(
            f"{where}: iou_type {value!r} is not supported - use 'auto' (each class by its "
            "shape), 'bbox' or 'segm'"
        )
    return "auto" if value == "auto" else "bbox" if value == "bbox" else "segm"


def metric_kind(shape: str, option: IouOption) -> IouType:
    """The metric that measures a class of ``shape`` under the run-level ``option``."""
    if option != "auto" and shape in AREA_SHAPES:
        return option
    return SHAPE_KINDS[shape]


COCO_KEYPOINT_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# A skeleton that is not COCO's person: every node gets the mean of COCO's 17 sigmas.
DEFAULT_SIGMA = float(np.mean(COCO_KEYPOINT_SIGMAS))


def keypoint_sigmas(names: Sequence[str], given: object = None) -> tuple[float, ...]:
    """OKS sigmas of a skeleton template's nodes, in ``names`` order.

    The template's own ``sigmas`` (one positive number per node) when it has them; COCO's 17
    when the nodes are COCO's person keypoints in COCO's order; else ``DEFAULT_SIGMA`` each.
    """
    values = list(given) if isinstance(given, (list, tuple)) else []
    if len(values) == len(names) and all(isinstance(v, (int, float)) and v > 0 for v in values):
        return tuple(float(v) for v in values)
    if tuple(names) == COCO_KEYPOINT_NAMES:
        return COCO_KEYPOINT_SIGMAS
    return tuple(DEFAULT_SIGMA for _ in names)


def layout_params(kinds: Sequence[str]) -> CocoParams:
    """The parameters every class is accumulated and summarised with (shared by all groups).

    One kind: that kind's COCO defaults, so the run equals ``predscope eval`` with that
    ``--iou-type`` (skeletons only: COCO's keypoint defaults, maxDets 20, no small range).
    Several: COCO's detection defaults, which every kind here shares.
    """
    distinct = sorted(set(kinds))
    if len(distinct) == 1:
        return CocoParams.default(_kind(distinct[0]))
    return CocoParams.default("bbox")


def group_params(
    kind: str, kinds: Sequence[str], sigmas: Sequence[float] | None = None
) -> CocoParams:
    """The matching parameters of the classes measured by ``kind`` in a run over ``kinds``.

    Every group shares the run's layout (thresholds, recall points, maxDets, area ranges). In a
    mixed run skeletons keep COCO's keypoint rule of no "small" range: that range holds none of
    their objects, so skeleton classes are n/a in APs and ARs, as in a COCO keypoint evaluation.
    """
    layout = layout_params(kinds)
    area_rng = layout.area_rng
    if kind == "keypoints" and layout.iou_type != "keypoints":
        area_rng = tuple(
            (0.0, -1.0) if label == "small" else rng
            for rng, label in zip(layout.area_rng, layout.area_labels, strict=True)
        )
    return CocoParams(
        iou_type=_kind(kind),
        iou_thrs=layout.iou_thrs,
        rec_thrs=layout.rec_thrs,
        max_dets=layout.max_dets,
        area_rng=area_rng,
        area_labels=layout.area_labels,
        kpt_oks_sigmas=np.array(
            COCO_KEYPOINT_SIGMAS if sigmas is None else sigmas, dtype=np.float64
        ),
    )


def summary_kind(kinds: Sequence[str]) -> str:
    """The run's ``iou_type`` as the results document names it: the one kind, or ``mixed``."""
    distinct = set(kinds)
    return next(iter(distinct)) if len(distinct) == 1 else "mixed"


def _kind(value: str) -> IouType:
    if value not in IOU_TYPES:
        raise InvalidArgumentsError(f"metric kind {value!r} is unknown - use one of {IOU_TYPES}")
    return value
