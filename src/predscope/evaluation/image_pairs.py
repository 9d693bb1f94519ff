"""Every detection against every GT of its image: the class-agnostic pairs, computed once.

TIDE's cross-class tests (the best IoU with any GT, with one of another class) and the
confusion matrix's class-agnostic matching both compare a detection with each GT of its
image, so one IoU block per image serves both. A block's detections are in the order
class-agnostic matching takes them (descending score, category, file order; rows of a
category the GT does not declare after them) and its GT in (category, file) order, as
``matching.match`` sorts them with ``use_cats=False``: that matching is then ``match_blocks``
over the first (at most maxDets) rows of each block, and its state equals ``match``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from predscope.evaluation.block_iou import Blocks, block_iou
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, FloatArray, IntArray
from predscope.evaluation.matching import (
    MatchState,
    check_inputs,
    group_blocks,
    group_bounds,
    match_blocks,
    stable_order,
    ties_by_category,
)
from predscope.evaluation.outcomes import ThresholdOutcomes, threshold_outcomes
from predscope.evaluation.params import CocoParams, single_threshold_params


@dataclass(frozen=True, eq=False)
class ImagePairs:
    """``blocks`` (one per image with detections, every detection row in one) and their IoU;
    ``evaluated[b]``: the leading rows of block b that class-agnostic matching evaluates."""

    params: CocoParams  # what the IoU was computed with
    blocks: Blocks
    iou: FloatArray
    evaluated: IntArray


def image_pairs(gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams) -> ImagePairs:
    """The pairs of ``gt`` and ``dt`` (``params``' IoU type, maxDets[-1] for ``evaluated``)."""
    check_inputs(gt, dt, params)
    kept = dt.category >= 0
    rows = ties_by_category(dt, dt.by_score)
    d_index = rows[stable_order(dt.image[rows] * 2 + ~kept[rows], 2 * gt.num_images)]
    d_image = dt.image[d_index]
    dstart, dcount = group_bounds(d_image)
    keys = d_image[dstart]
    g_index = np.lexsort((np.arange(gt.num_annotations), gt.category, gt.image)).astype(np.int64)
    blocks = group_blocks(d_index, dstart, dcount, keys, g_index, gt.image[g_index])
    in_block = np.add.reduceat(kept[d_index].astype(np.int64), dstart) if dstart.size else dstart
    evaluated = np.minimum(in_block, params.max_dets[-1]).astype(np.int64)
    return ImagePairs(params, blocks, block_iou(gt, dt, params, blocks), evaluated)


def agnostic_state(
    gt: CocoGroundTruth, dt: CocoDetections, pairs: ImagePairs, params: CocoParams
) -> MatchState:
    """``match(gt, dt, params)`` with ``params.use_cats`` False, from ``pairs`` (their IoU
    geometry and maxDets[-1] must be ``params``')."""
    b = pairs.blocks
    lead = np.arange(b.d_index.size, dtype=np.int64) - np.repeat(b.dstart, b.dcount)
    take = lead < np.repeat(pairs.evaluated, b.dcount)
    dstart = (np.cumsum(pairs.evaluated) - pairs.evaluated).astype(np.int64)
    blocks = Blocks(
        b.d_index[take], b.g_index, dstart, pairs.evaluated, b.gstart, b.gcount, b.offsets
    )
    return match_blocks(gt, dt, params, blocks, pairs.iou, lead[take])


def agnostic_outcomes(
    gt: CocoGroundTruth, dt: CocoDetections, pairs: ImagePairs, iou_thr: float
) -> ThresholdOutcomes:
    """``single_threshold_outcomes(gt, dt, iou_thr, params=...)`` with categories ignored,
    for ``pairs = image_pairs(gt, dt, params)``."""
    p = replace(single_threshold_params(pairs.params, iou_thr), use_cats=False)
    state = agnostic_state(gt, dt, pairs, p)
    return threshold_outcomes(state, p, gt.num_annotations, dt.num_detections)
