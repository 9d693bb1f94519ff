"""Precision / recall / score arrays from matched detections, as ``COCOeval.accumulate`` does.

Per category, detections are already in (image, rank) order; one stable sort by descending
score then gives pycocotools' global order (ties broken by image, then by rank in the image).
The cut to ``maxDet`` per (image, category) is a filter on the rank, which keeps that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation._kernels import accumulate_kernel
from predscope.evaluation.inputs import BoolArray, FloatArray, IntArray
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
    return _category_order(state.num_eval_cats, state.d_cat, state.d_score)


def _category_order(
    num_k: int, d_cat: IntArray, d_score: FloatArray, only: BoolArray | None = None
) -> list[IntArray]:
    bounds = np.searchsorted(d_cat, np.arange(num_k + 1), side="left")
    out: list[IntArray] = []
    empty = np.zeros(0, dtype=np.int64)
    for k in range(num_k):
        if only is not None and not only[k]:
            out.append(empty)
            continue
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        local = np.argsort(-d_score[lo:hi], kind="stable")
        out.append((local + lo).astype(np.int64))
    return out


def score_order(
    num_k: int, d_cat: IntArray, d_score: FloatArray, only: BoolArray | None = None
) -> tuple[IntArray, IntArray]:
    """``category_order`` as one array: category k's are ``flat[bounds[k]:bounds[k + 1]]``.

    With ``only``, the other categories get an empty range (callers that reuse their figures).
    """
    orders = _category_order(num_k, d_cat, d_score, only)
    bounds = np.zeros(num_k + 1, dtype=np.int64)
    bounds[1:] = np.cumsum([o.size for o in orders])
    flat = np.concatenate(orders) if orders else np.zeros(0, dtype=np.int64)
    return bounds, flat.astype(np.int64)


def accumulate(
    state: MatchState, params: CocoParams, order: tuple[IntArray, IntArray] | None = None
) -> Accumulated:
    """Fill precision, recall and scores for every (threshold, category, area, maxDet);
    ``order`` is the state's ``score_order`` when the caller already has it."""
    return accumulate_detections(
        state.num_eval_cats,
        state.d_cat,
        state.d_score,
        state.d_rank,
        state.codes,
        state.npig,
        params,
        order,
    )


def accumulate_detections(
    num_k: int,
    d_cat: IntArray,
    d_score: FloatArray,
    d_rank: IntArray,
    codes: NDArray[np.int8],
    npig: IntArray,
    params: CocoParams,
    order: tuple[IntArray, IntArray] | None = None,
) -> Accumulated:
    """``accumulate`` of evaluated detections given as arrays in (category, image, rank) order
    (``MatchState``'s), for callers that assemble them without a whole match state; ``order``
    is their ``score_order`` when the caller already has it."""
    num_t = params.iou_thrs.size
    num_r = params.rec_thrs.size
    num_a = len(params.area_rng)
    num_m = len(params.max_dets)
    precision = -np.ones((num_t, num_r, num_k, num_a, num_m))
    recall = -np.ones((num_t, num_k, num_a, num_m))
    scores = -np.ones((num_t, num_r, num_k, num_a, num_m))
    bounds, flat = order if order is not None else score_order(num_k, d_cat, d_score)
    accumulate_kernel(
        bounds,
        flat,
        d_rank,
        d_score,
        codes,
        npig,
        np.array(params.max_dets, dtype=np.int64),
        params.rec_thrs,
        precision,
        recall,
        scores,
    )
    return Accumulated(precision=precision, recall=recall, scores=scores)
