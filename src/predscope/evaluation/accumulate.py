"""Precision / recall / score arrays from matched detections, as ``COCOeval.accumulate`` does.

Per category, detections are already in (image, rank) order; one stable sort by descending
score then gives pycocotools' global order (ties broken by image, then by rank in the image).
The cut to ``maxDet`` per (image, category) is a filter on the rank, which keeps that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation._kernels import accumulate_kernel
from predscope.evaluation.inputs import FloatArray, IntArray
from predscope.evaluation.matching import MatchState
from predscope.evaluation.params import CocoParams


@dataclass(frozen=True, eq=False)
class Accumulated:
    """The three COCO arrays; -1 marks "no ground truth in this category and area range"."""

    precision: FloatArray  # [T, R, K, A, M]
    recall: FloatArray  # [T, K, A, M]
    scores: FloatArray  # [T, R, K, A, M]


def category_order(state: MatchState) -> list[IntArray]:
    """For each accumulation category, sorted positions of its detections in global score order."""
    bounds = np.searchsorted(state.d_cat, np.arange(state.num_eval_cats + 1), side="left")
    out: list[IntArray] = []
    for k in range(state.num_eval_cats):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        local = np.argsort(-state.d_score[lo:hi], kind="stable")
        out.append((local + lo).astype(np.int64))
    return out


def accumulate(state: MatchState, params: CocoParams) -> Accumulated:
    """Fill precision, recall and scores for every (threshold, category, area, maxDet)."""
    num_t = params.iou_thrs.size
    num_r = params.rec_thrs.size
    num_k = state.num_eval_cats
    num_a = len(params.area_rng)
    num_m = len(params.max_dets)
    precision = -np.ones((num_t, num_r, num_k, num_a, num_m))
    recall = -np.ones((num_t, num_k, num_a, num_m))
    scores = -np.ones((num_t, num_r, num_k, num_a, num_m))
    orders = category_order(state)
    bounds = np.zeros(num_k + 1, dtype=np.int64)
    bounds[1:] = np.cumsum([o.size for o in orders])
    flat = np.concatenate(orders) if orders else np.zeros(0, dtype=np.int64)
    accumulate_kernel(
        bounds,
        flat.astype(np.int64),
        state.d_rank,
        state.d_score,
        state.codes,
        state.npig,
        np.array(params.max_dets, dtype=np.int64),
        params.rec_thrs,
        precision,
        recall,
        scores,
    )
    return Accumulated(precision=precision, recall=recall, scores=scores)
