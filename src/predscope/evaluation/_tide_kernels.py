"""Compiled per-detection reductions over class-agnostic (image) IoU blocks, for TIDE."""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True)
def best_partners(
    dstart: NDArray[np.int64],
    dcount: NDArray[np.int64],
    gstart: NDArray[np.int64],
    gcount: NDArray[np.int64],
    offsets: NDArray[np.int64],
    iou: NDArray[np.float64],
    d_row: NDArray[np.int64],
    g_row: NDArray[np.int64],
    d_cat: NDArray[np.int64],
    g_cat: NDArray[np.int64],
    g_skip: NDArray[np.bool_],
    g_used: NDArray[np.bool_],
    best: NDArray[np.float64],
    arg: NDArray[np.int64],
    g_best: NDArray[np.float64],
    g_arg: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Per detection the highest IoU and its GT among: 0 any GT, 1 same-class GT, 2 other-class
    GT, 3 same-class GT already matched; ``g_best`` / ``g_arg`` the same per GT over the
    detections of its image. GT with ``g_skip`` take no part.

    Blocks hold sorted positions (``d_row`` / ``g_row`` map them to input rows); everything
    else is indexed by input row. Ties go to the lowest input row, so the answer does not
    depend on the blocks' order; ``best`` starts at 0 and ``arg`` at -1, so "no overlap" stays
    (0, -1).
    """
    for b in range(dstart.shape[0]):
        ds = dstart[b]
        gs = gstart[b]
        gc = gcount[b]
        off = offsets[b]
        for i in range(dcount[b]):
            r = d_row[ds + i]
            dc = d_cat[r]
            for j in range(gc):
                q = g_row[gs + j]
                if g_skip[q]:
                    continue
                v = iou[off + i * gc + j]
                if v > best[0, r] or (v == best[0, r] and arg[0, r] > q):
                    best[0, r] = v
                    arg[0, r] = q
                if v > g_best[q] or (v == g_best[q] and g_arg[q] > r):
                    g_best[q] = v
                    g_arg[q] = r
                same = dc == g_cat[q]
                k = 1 if same else 2
                if v > best[k, r] or (v == best[k, r] and arg[k, r] > q):
                    best[k, r] = v
                    arg[k, r] = q
                if same and g_used[q] and (v > best[3, r] or (v == best[3, r] and arg[3, r] > q)):
                    best[3, r] = v
                    arg[3, r] = q
