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
from predscope.evaluation._kernels import accumulate_spliced as accumulate_spliced_kernel
from predscope.evaluation.inputs import FloatArray, IntArray
from predscope.evaluation.matching import MatchState
from predscope.evaluation.params import CocoParams


@dataclass(frozen=True, eq=False)
class Accumulated:
    """The three COCO arrays; -1 marks "no ground truth in this category and area range"."""

    precision: FloatArray  # [T, R, K, A, M]
    recall: FloatArray  # [T, K, A, M]
    scores: FloatArray  # [T, R, K, A, M]


def accumulate(
    state: MatchState,
    params: CocoParams,
    order: tuple[IntArray, IntArray] | None = None,
    *,
    only: NDArray[np.bool_] | None = None,
    into: Accumulated | None = None,
) -> Accumulated:
    """Fill precision, recall and scores for every (threshold, category, area, maxDet);
    ``order`` replaces the state's ``score_order``.

    With ``only`` (a mask over categories), just those categories are filled, and with
    ``into`` inside its arrays (in place; the other categories' entries stay as they are):
    ``records.aggregate`` recomputes the classes an edit touched and keeps the rest.
    """
    num_k = state.num_eval_cats
    if into is None:
        out = _unfilled(num_k, params)
    else:
        out = into
        chosen = slice(None) if only is None else only
        out.precision[:, :, chosen] = -1.0
        out.recall[:, chosen] = -1.0
        out.scores[:, :, chosen] = -1.0
    classes = np.arange(num_k, dtype=np.int64) if only is None else np.flatnonzero(only)
    bounds, flat = state.score_order if order is None else order
    accumulate_kernel(
        classes.astype(np.int64),
        bounds,
        flat,
        state.d_rank,
        state.d_score,
        state.codes,
        state.npig,
        np.array(params.max_dets, dtype=np.int64),
        params.rec_thrs,
        out.precision,
        out.recall,
        out.scores,
    )
    return out


def _unfilled(num_k: int, params: CocoParams) -> Accumulated:
    num_t = params.iou_thrs.size
    num_r = params.rec_thrs.size
    num_a = len(params.area_rng)
    num_m = len(params.max_dets)
    return Accumulated(
        precision=-np.ones((num_t, num_r, num_k, num_a, num_m)),
        recall=-np.ones((num_t, num_k, num_a, num_m)),
        scores=-np.ones((num_t, num_r, num_k, num_a, num_m)),
    )


@dataclass(frozen=True, eq=False)
class Matched:
    """Matched detections in (category, image, rank) order: group key (category * images +
    image), image, score, codes [A, T, N], and ``score_order``'s (bounds, flat)."""

    key: IntArray
    image: IntArray
    score: FloatArray
    codes: NDArray[np.int8]
    order: tuple[IntArray, IntArray]


def accumulate_spliced(
    num_k: int,
    base: Matched,
    keep: NDArray[np.bool_],
    new: Matched,
    npig: IntArray,
    params: CocoParams,
) -> Accumulated:
    """``accumulate`` of the detections ``base`` rows ``keep`` and ``new`` together, where no
    (category, image) group has detections on both sides (``EditedEvaluations``' splice): the
    two score orders are merged, not sorted again, and ranks are counted among the kept."""
    out = _unfilled(num_k, params)
    accumulate_spliced_kernel(
        base.order[0],
        base.order[1],
        keep,
        base.key,
        base.image,
        base.score,
        base.codes,
        new.order[0],
        new.order[1],
        new.key,
        new.image,
        new.score,
        new.codes,
        npig,
        np.array(params.max_dets, dtype=np.int64),
        params.rec_thrs,
        out.precision,
        out.recall,
        out.scores,
    )
    return out
