"""Precision / recall / score arrays from matched detections, as ``COCOeval.accumulate`` builds them.

Per category, detections are already in (image, rank) order; one stable sort by descending
score then gives pycocotools' global order (ties broken by image, then by rank in the image).
The cut to ``maxDet`` per (image, category) is a filter on the rank, which keeps that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predscope.evaluation._kernels import FP, TP
from predscope.evaluation.inputs import FloatArray, IntArray
from predscope.evaluation.matching import MatchState
from predscope.evaluation.params import CocoParams

_EPS = float(np.spacing(1))


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
    rec_thrs = params.rec_thrs
    for k, order in enumerate(category_order(state)):
        ranks = state.d_rank[order]
        for m, max_det in enumerate(params.max_dets):
            sel = order[ranks < max_det]
            sorted_scores = state.d_score[sel]
            nd = sel.size
            for a in range(num_a):
                npig = int(state.npig[k, a])
                if npig == 0:
                    continue
                codes = state.codes[a][:, sel]
                tp_sum = np.cumsum(codes == TP, axis=1).astype(np.float64)
                fp_sum = np.cumsum(codes == FP, axis=1).astype(np.float64)
                if nd == 0:
                    recall[:, k, a, m] = 0.0
                    precision[:, :, k, a, m] = 0.0
                    scores[:, :, k, a, m] = 0.0
                    continue
                rc = tp_sum / npig
                pr = tp_sum / (fp_sum + tp_sum + _EPS)
                recall[:, k, a, m] = rc[:, -1]
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(num_t):
                    inds = np.searchsorted(rc[t], rec_thrs, side="left")
                    valid = inds < nd
                    q = np.zeros(num_r)
                    ss = np.zeros(num_r)
                    q[valid] = pr[t, inds[valid]]
                    ss[valid] = sorted_scores[inds[valid]]
                    precision[t, :, k, a, m] = q
                    scores[t, :, k, a, m] = ss
    return Accumulated(precision=precision, recall=recall, scores=scores)
