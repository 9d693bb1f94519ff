"""Compiled inner loops (numba, cached on disk so compile time is paid once per install).

The loops follow pycocotools' ``bbIou`` and ``evaluateImg`` step for step; every float operation
is done in the same order so results are bit-identical. Detections and ground truth arrive
sorted into groups ((category, image) blocks, or image blocks when categories are ignored).
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

# Outcome codes of one detection at one IoU threshold and area range.
FP = np.int8(0)
TP = np.int8(1)
IGNORED = np.int8(2)
NOT_EVALUATED = np.int8(3)


@numba.njit(cache=True, nogil=True)
def counting_order(keys: NDArray[np.int64], size: int, out: NDArray[np.int64]) -> None:
    """``out`` = the stable argsort of ``keys`` (each in [0, size)), by counting: O(n + size)."""
    starts = np.zeros(size + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        starts[keys[i] + 1] += 1
    for k in range(size):
        starts[k + 1] += starts[k]
    for i in range(keys.shape[0]):
        k = keys[i]
        out[starts[k]] = i
        starts[k] += 1


@numba.njit(cache=True, nogil=True)
def scatter_rows(
    d_index: NDArray[np.int64],
    g_index: NDArray[np.int64],
    d_rank: NDArray[np.int64],
    codes: NDArray[np.int8],
    match_gt: NDArray[np.int32],
    match_iou: NDArray[np.float64],
    gt_match: NDArray[np.int32],
    out_rank: NDArray[np.int32],
    out_codes: NDArray[np.int8],
    d_match: NDArray[np.int32],
    d_iou: NDArray[np.float64],
    g_match: NDArray[np.int32],
    g_iou: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """A match state's [A, T, N] / [T, N] arrays in sorted order written to input rows as
    [N, A, T] / [N, T] (partners as input rows); rows not evaluated keep what the caller set."""
    num_a, num_t, nd = codes.shape
    for p in range(nd):
        row = d_index[p]
        out_rank[row] = d_rank[p]
        for a in range(num_a):
            for t in range(num_t):
                out_codes[row, a, t] = codes[a, t, p]
        for t in range(num_t):
            d_iou[row, t] = match_iou[t, p]
            m = match_gt[t, p]
            d_match[row, t] = g_index[m] if m >= 0 else -1
    for q in range(g_index.shape[0]):
        row = g_index[q]
        for t in range(num_t):
            m = gt_match[t, q]
            if m >= 0:
                g_match[row, t] = d_index[m]
                g_iou[row, t] = match_iou[t, m]


@numba.njit(cache=True, nogil=True)
def bbox_iou_blocks(
    d_box: NDArray[np.float64],
    g_box: NDArray[np.float64],
    g_crowd: NDArray[np.bool_],
    dstart: NDArray[np.int64],
    dcount: NDArray[np.int64],
    gstart: NDArray[np.int64],
    gcount: NDArray[np.int64],
    offsets: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Box IoU of every (detection, GT) pair inside each group; crowd GT use inter / area(dt)."""
    for b in range(dstart.shape[0]):
        gc = gcount[b]
        if gc == 0:
            continue
        ds = dstart[b]
        gs = gstart[b]
        off = offsets[b]
        for i in range(dcount[b]):
            dx = d_box[ds + i, 0]
            dy = d_box[ds + i, 1]
            dw = d_box[ds + i, 2]
            dh = d_box[ds + i, 3]
            da = dw * dh
            for j in range(gc):
                gx = g_box[gs + j, 0]
                gy = g_box[gs + j, 1]
                gw = g_box[gs + j, 2]
                gh = g_box[gs + j, 3]
                k = off + i * gc + j
                out[k] = 0.0
                w = min(dw + dx, gw + gx) - max(dx, gx)
                if w <= 0:
                    continue
                h = min(dh + dy, gh + gy) - max(dy, gy)
                if h <= 0:
                    continue
                inter = w * h
                u = da if g_crowd[gs + j] else da + gw * gh - inter
                out[k] = inter / u


@numba.njit(cache=True, nogil=True, parallel=True)
def match_groups(
    dstart: NDArray[np.int64],
    dcount: NDArray[np.int64],
    gstart: NDArray[np.int64],
    gcount: NDArray[np.int64],
    offsets: NDArray[np.int64],
    iou: NDArray[np.float64],
    g_area: NDArray[np.float64],
    g_ignore: NDArray[np.bool_],
    g_crowd: NDArray[np.bool_],
    g_zero: NDArray[np.bool_],
    d_area: NDArray[np.float64],
    d_out: NDArray[np.bool_],
    area_lo: NDArray[np.float64],
    area_hi: NDArray[np.float64],
    thrs: NDArray[np.float64],
    compat: bool,
    codes: NDArray[np.int8],
    match_gt: NDArray[np.int32],
    match_iou: NDArray[np.float64],
    gt_match: NDArray[np.int32],
) -> None:  # pragma: no cover - compiled
    """Greedy COCO matching for every group, area range and IoU threshold.

    ``codes[a, t, d]`` gets FP / TP / IGNORED; ``d_out`` marks detections outside an object
    slice, treated like detections outside every area range. For area range 0 the matched GT,
    its IoU and the GT-side match are recorded too (-1 when unmatched).
    """
    num_t = thrs.shape[0]
    num_a = area_lo.shape[0]
    for b in numba.prange(dstart.shape[0]):
        ds = dstart[b]
        nd = dcount[b]
        gs = gstart[b]
        gc = gcount[b]
        off = offsets[b]
        order = np.empty(gc, dtype=np.int64)
        ig = np.empty(gc, dtype=np.bool_)
        taken = np.empty(gc, dtype=np.bool_)
        # best IoU of each detection: below a threshold nothing can match, skip the scan
        dmax = np.full(nd, -np.inf)
        for i in range(nd):
            for j in range(gc):
                v = iou[off + i * gc + j]
                if v > dmax[i]:
                    dmax[i] = v
        for a in range(num_a):
            lo = area_lo[a]
            hi = area_hi[a]
            # non-ignored GT first, then ignored, each in input order (a stable sort)
            n_keep = 0
            for j in range(gc):
                ga = g_area[gs + j]
                ig[j] = g_ignore[gs + j] or ga < lo or ga > hi
                if not ig[j]:
                    order[n_keep] = j
                    n_keep += 1
            pos = n_keep
            for j in range(gc):
                if ig[j]:
                    order[pos] = j
                    pos += 1
            for t in range(num_t):
                thr = thrs[t]
                cap = min(thr, 1.0 - 1e-10)
                for j in range(gc):
                    taken[j] = False
                for i in range(nd):
                    d = ds + i
                    best = cap
                    m = -1
                    for jj in range(gc if dmax[i] >= cap else 0):
                        j = order[jj]
                        if taken[j] and not g_crowd[gs + j]:
                            continue
                        if m > -1 and not ig[m] and ig[j]:
                            break
                        v = iou[off + i * gc + j]
                        if v < best:
                            continue
                        best = v
                        m = j
                    out_of_range = d_out[d] or d_area[d] < lo or d_area[d] > hi
                    if m == -1:
                        codes[a, t, d] = IGNORED if out_of_range else FP
                        if a == 0:
                            match_gt[t, d] = -1
                            match_iou[t, d] = np.nan
                        continue
                    taken[m] = True
                    if compat and g_zero[gs + m]:
                        # pycocotools stores the GT id (0) as the match and so sees no match
                        codes[a, t, d] = IGNORED if (ig[m] or out_of_range) else FP
                    else:
                        codes[a, t, d] = IGNORED if ig[m] else TP
                    if a == 0:
                        match_gt[t, d] = gs + m
                        match_iou[t, d] = best
                        gt_match[t, gs + m] = d


@numba.njit(nogil=True)
def _category_curves(
    k: int,
    idx: NDArray[np.int64],
    lo: int,
    hi: int,
    d_rank: NDArray[np.int64],
    d_score: NDArray[np.float64],
    codes: NDArray[np.int8],
    npig: NDArray[np.int64],
    max_dets: NDArray[np.int64],
    rec_thrs: NDArray[np.float64],
    precision: NDArray[np.float64],
    recall: NDArray[np.float64],
    scores: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """``COCOeval.accumulate`` of category k, whose detections in global score order are
    ``idx[lo:hi]``, for every (maxDet, area, threshold). Same float operations as
    pycocotools: ``tp / npig`` and ``tp / (fp + tp + eps)``.

    Only true positives are kept as operating points: recall rises only there, so the first
    point with recall >= a threshold above 0 is one, and precision's running maximum from
    the end is attained at one (a later FP or ignored detection has the same tp and no fewer
    fp). A threshold <= 0 takes the first detection (its score; precision the maximum).
    """
    eps = np.spacing(1.0)
    num_t = codes.shape[1]
    num_a = codes.shape[0]
    num_r = rec_thrs.shape[0]
    sel = np.empty(max(hi - lo, 1), dtype=np.int64)
    rc = np.empty(max(hi - lo, 1), dtype=np.float64)
    pr = np.empty(max(hi - lo, 1), dtype=np.float64)
    at = np.empty(max(hi - lo, 1), dtype=np.int64)
    for m in range(max_dets.shape[0]):
        nd = 0
        for p in range(lo, hi):
            d = idx[p]
            if d_rank[d] < max_dets[m]:
                sel[nd] = d
                nd += 1
        for a in range(num_a):
            n_pos = npig[k, a]
            if n_pos == 0:
                continue
            for t in range(num_t):
                if nd == 0:
                    recall[t, k, a, m] = 0.0
                    for r in range(num_r):
                        precision[t, r, k, a, m] = 0.0
                        scores[t, r, k, a, m] = 0.0
                    continue
                tp = 0
                fp = 0
                for i in range(nd):
                    c = codes[a, t, sel[i]]
                    if c == 1:
                        tpf = float(tp + 1)
                        rc[tp] = tpf / n_pos
                        pr[tp] = tpf / (float(fp) + tpf + eps)
                        at[tp] = i
                        tp += 1
                    elif c == 0:
                        fp += 1
                recall[t, k, a, m] = rc[tp - 1] if tp else 0.0
                for i in range(tp - 1, 0, -1):
                    if pr[i] > pr[i - 1]:
                        pr[i - 1] = pr[i]
                # first operating point with recall >= each threshold (searchsorted left)
                for r in range(num_r):
                    x = rec_thrs[r]
                    if x <= 0.0:
                        precision[t, r, k, a, m] = pr[0] if tp else 0.0
                        scores[t, r, k, a, m] = d_score[sel[0]]
                        continue
                    left = 0
                    right = tp
                    while left < right:
                        mid = (left + right) >> 1
                        if rc[mid] < x:
                            left = mid + 1
                        else:
                            right = mid
                    if left < tp:
                        precision[t, r, k, a, m] = pr[left]
                        scores[t, r, k, a, m] = d_score[sel[at[left]]]
                    else:
                        precision[t, r, k, a, m] = 0.0
                        scores[t, r, k, a, m] = 0.0


@numba.njit(cache=True, nogil=True, parallel=True)
def accumulate_kernel(
    classes: NDArray[np.int64],
    cat_bounds: NDArray[np.int64],
    order: NDArray[np.int64],
    d_rank: NDArray[np.int64],
    d_score: NDArray[np.float64],
    codes: NDArray[np.int8],
    npig: NDArray[np.int64],
    max_dets: NDArray[np.int64],
    rec_thrs: NDArray[np.float64],
    precision: NDArray[np.float64],
    recall: NDArray[np.float64],
    scores: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """``COCOeval.accumulate`` for every (maxDet, area, threshold) of the categories listed in
    ``classes`` (the others' entries are left as they are).

    ``order[cat_bounds[k]:cat_bounds[k+1]]`` lists category k's detections in global score
    order.
    """
    for i in numba.prange(classes.shape[0]):
        k = classes[i]
        _category_curves(
            k,
            order,
            cat_bounds[k],
            cat_bounds[k + 1],
            d_rank,
            d_score,
            codes,
            npig,
            max_dets,
            rec_thrs,
            precision,
            recall,
            scores,
        )


@numba.njit(nogil=True)
def _group_ranks(
    key: NDArray[np.int64], keep: NDArray[np.bool_], lo: int, hi: int, rank: NDArray[np.int64]
) -> None:  # pragma: no cover - compiled
    """Each kept position's rank among the kept of its run of equal (sorted) keys."""
    n = 0
    for p in range(lo, hi):
        if p > lo and key[p] != key[p - 1]:
            n = 0
        if keep[p]:
            rank[p] = n
            n += 1


@numba.njit(cache=True, nogil=True)
def accumulate_spliced(
    b_bounds: NDArray[np.int64],
    b_order: NDArray[np.int64],
    b_keep: NDArray[np.bool_],
    b_key: NDArray[np.int64],
    b_image: NDArray[np.int64],
    b_score: NDArray[np.float64],
    b_codes: NDArray[np.int8],
    s_bounds: NDArray[np.int64],
    s_order: NDArray[np.int64],
    s_key: NDArray[np.int64],
    s_image: NDArray[np.int64],
    s_score: NDArray[np.float64],
    s_codes: NDArray[np.int8],
    npig: NDArray[np.int64],
    max_dets: NDArray[np.int64],
    rec_thrs: NDArray[np.float64],
    precision: NDArray[np.float64],
    recall: NDArray[np.float64],
    scores: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """``accumulate_kernel`` of two sets of matched detections without sorting them together.

    Each side is in (category, image, rank) order with its score order per category (``*_bounds``,
    ``*_order``); of the base ``b_*`` only ``b_keep`` rows count, and the two never share a
    (category, image) group. The merged set's order, (category, image, rank) with ranks counted
    among the kept, makes its score order per category descending score, then image, then rank:
    a merge of the two sides' orders by (score, image). Serial: a few milliseconds of work,
    which a parallel region's start and its wait for the slowest thread would double on a
    busy machine.
    """
    num_a, num_t = b_codes.shape[0], b_codes.shape[1]
    b_rank = np.zeros(b_key.shape[0], dtype=np.int64)
    s_keep = np.ones(s_key.shape[0], dtype=np.bool_)
    s_rank = np.zeros(s_key.shape[0], dtype=np.int64)
    for k in range(b_bounds.shape[0] - 1):
        blo, bhi = b_bounds[k], b_bounds[k + 1]
        slo, shi = s_bounds[k], s_bounds[k + 1]
        _group_ranks(b_key, b_keep, blo, bhi, b_rank)
        _group_ranks(s_key, s_keep, slo, shi, s_rank)
        n = (shi - slo) + 0
        for p in range(blo, bhi):
            if b_keep[p]:
                n += 1
        m_rank = np.empty(max(n, 1), dtype=np.int64)
        m_score = np.empty(max(n, 1), dtype=np.float64)
        m_codes = np.empty((num_a, num_t, max(n, 1)), dtype=np.int8)
        i = blo
        j = slo
        for out in range(n):
            while i < bhi and not b_keep[b_order[i]]:
                i += 1
            take_base = j >= shi
            if not take_base and i < bhi:
                bd = b_order[i]
                sd = s_order[j]
                take_base = b_score[bd] > s_score[sd] or (
                    b_score[bd] == s_score[sd] and b_image[bd] < s_image[sd]
                )
            if take_base:
                d = b_order[i]
                m_rank[out] = b_rank[d]
                m_score[out] = b_score[d]
                for a in range(num_a):
                    for t in range(num_t):
                        m_codes[a, t, out] = b_codes[a, t, d]
                i += 1
            else:
                d = s_order[j]
                m_rank[out] = s_rank[d]
                m_score[out] = s_score[d]
                for a in range(num_a):
                    for t in range(num_t):
                        m_codes[a, t, out] = s_codes[a, t, d]
                j += 1
        _category_curves(
            k,
            np.arange(n),
            0,
            n,
            m_rank,
            m_score,
            m_codes,
            npig,
            max_dets,
            rec_thrs,
            precision,
            recall,
            scores,
        )
