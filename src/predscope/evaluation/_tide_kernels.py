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
    d_cat: NDArray[np.int64],
    g_cat: NDArray[np.int64],
    g_used: NDArray[np.bool_],
    best: NDArray[np.float64],
    arg: NDArray[np.int64],
    g_best: NDArray[np.float64],
    g_arg: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Per detection (sorted position) the highest IoU and its GT (first on ties) among:
    0 any GT, 1 same-class GT, 2 other-class GT, 3 same-class GT already matched.

    ``best[:, d]`` starts at 0 and ``arg[:, d]`` at -1, so "no overlap" stays (0, -1).
    ``g_best`` / ``g_arg`` get the same for each GT over all detections of its image.
    """
    for b in range(dstart.shape[0]):
        ds = dstart[b]
        gs = gstart[b]
        gc = gcount[b]
        off = offsets[b]
        for i in range(dcount[b]):
            d = ds + i
            for j in range(gc):
                v = iou[off + i * gc + j]
                g = gs + j
                same = d_cat[d] == g_cat[g]
                if v > best[0, d]:
                    best[0, d] = v
                    arg[0, d] = g
                if v > g_best[g]:
                    g_best[g] = v
                    g_arg[g] = d
                k = 1 if same else 2
                if v > best[k, d]:
                    best[k, d] = v
                    arg[k, d] = g
                if same and g_used[g] and v > best[3, d]:
                    best[3, d] = v
                    arg[3, d] = g
