"""Compiled COCO AP of image resamples, from one evaluation's match state.

An image drawn w times is w copies of that image placed one after another, so every copy
matches exactly as the original did; only the accumulation changes. Within a run of equal
scores the copies are expanded in the order pycocotools would see them (image copy, then rank),
so the PR points - and AP - are exactly those of re-evaluating the resampled data set.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True, parallel=True)
def resampled_ap(
    cat_bounds: NDArray[np.int64],
    order: NDArray[np.int64],
    d_img: NDArray[np.int64],
    d_rank: NDArray[np.int64],
    d_score: NDArray[np.float64],
    codes_dt: NDArray[np.int8],
    gt_ptr: NDArray[np.int64],
    gt_img: NDArray[np.int64],
    gt_cnt: NDArray[np.int64],
    max_det: int,
    rec_thrs: NDArray[np.float64],
    weights: NDArray[np.int64],
    out: NDArray[np.float64],
    per_class: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """``out[b]`` = COCO AP (mean over thresholds, recall points and classes with GT) of resample
    b, whose image multiplicities are ``weights[b]``; NaN if no class has GT in it.
    ``per_class[b, k]`` = class k's AP in that resample (NaN where it has no GT).

    ``codes_dt`` is [Nd, T] (area range "all"); class k's non-ignored GT are
    ``gt_cnt[gt_ptr[k]:gt_ptr[k+1]]`` on images ``gt_img[...]`` (only images holding some);
    ``order[cat_bounds[k]:cat_bounds[k+1]]`` category k's detections in global score order.
    """
    eps = np.spacing(1.0)
    num_t = codes_dt.shape[1]
    num_r = rec_thrs.shape[0]
    num_k = cat_bounds.shape[0] - 1
    for b in numba.prange(weights.shape[0]):
        w = weights[b]
        total = 0.0
        valid = 0
        for k in range(num_k):
            n_pos = 0
            for j in range(gt_ptr[k], gt_ptr[k + 1]):
                n_pos += w[gt_img[j]] * gt_cnt[j]
            if n_pos == 0:
                per_class[b, k] = np.nan
                continue
            valid += 1
            lo = cat_bounds[k]
            hi = cat_bounds[k + 1]
            size = 0
            for p in range(lo, hi):
                d = order[p]
                if d_rank[d] < max_det:
                    size += w[d_img[d]]
            if size == 0:
                per_class[b, k] = 0.0
                continue  # GT but no detection: precision 0 everywhere
            exp = np.empty(size, dtype=np.int64)
            e = 0
            p = lo
            while p < hi:
                q = p
                s = d_score[order[p]]
                while q < hi and d_score[order[q]] == s:
                    q += 1
                u = p
                while u < q:  # a tie block is sorted by (image, rank): expand per image
                    img = d_img[order[u]]
                    v = u
                    while v < q and d_img[order[v]] == img:
                        v += 1
                    for _ in range(w[img]):
                        for x in range(u, v):
                            if d_rank[order[x]] < max_det:
                                exp[e] = order[x]
                                e += 1
                    u = v
                p = q
            # The interpolated precision at each recall threshold without storing the curve
            # (at 100,000 images a class's curve is megabytes per threshold): the totals in a
            # forward pass, then a backward pass that keeps the running maximum of precision
            # (pycocotools' right-to-left envelope) and hands it to every recall threshold
            # whose first reaching detection is this one (its ``searchsorted(side="left")``).
            # ``codes_dt`` is [Nd, T]: a detection's ten codes are one contiguous read.
            tp = np.zeros(num_t, dtype=np.int64)
            fp = np.zeros(num_t, dtype=np.int64)
            for i in range(size):
                d = exp[i]
                for t in range(num_t):
                    c = codes_dt[d, t]
                    if c == 1:
                        tp[t] += 1
                    elif c == 0:
                        fp[t] += 1
            best = np.zeros(num_t)
            at = np.empty(num_t, dtype=np.int64)  # the next recall threshold to hand out
            q = np.zeros((num_t, num_r))  # precision 0 where the recall is never reached
            for t in range(num_t):
                r = num_r - 1
                top = float(tp[t]) / n_pos
                while r >= 0 and rec_thrs[r] > top:
                    r -= 1
                at[t] = r
            for i in range(size - 1, -1, -1):
                d = exp[i]
                for t in range(num_t):
                    tpf = float(tp[t])
                    p_i = tpf / (float(fp[t]) + tpf + eps)
                    if p_i > best[t]:
                        best[t] = p_i
                    c = codes_dt[d, t]
                    if c == 1:
                        tp[t] -= 1
                    elif c == 0:
                        fp[t] -= 1
                    before = float(tp[t]) / n_pos if i > 0 else -1.0
                    r = at[t]
                    while r >= 0 and rec_thrs[r] > before:
                        q[t, r] = best[t]
                        r -= 1
                    at[t] = r
            cls_sum = 0.0
            for t in range(num_t):  # summed in the order the curve-based loop used
                for r in range(num_r):
                    cls_sum += q[t, r]
            per_class[b, k] = cls_sum / (num_t * num_r)
            total += per_class[b, k]
        out[b] = total / valid if valid else np.nan
