"""Compiled symmetric mean distance between polylines, for matching inside (image, class) groups.

Same definition as ``polyline.symmetric_mean_distance``: each line resampled at ``samples`` points
evenly spaced by arc length, each sample's exact distance to the other line, averaged per
direction, then over the two directions.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True)
def resample_all(
    points: NDArray[np.float64], offsets: NDArray[np.int64], samples: int
) -> NDArray[np.float64]:  # pragma: no cover - compiled
    """(N, samples, 2): every line resampled by arc length (ends included)."""
    n = offsets.shape[0] - 1
    out = np.empty((n, samples, 2))
    for i in range(n):
        lo = offsets[i]
        k = offsets[i + 1] - lo
        cum = np.empty(k)
        xs = np.empty(k)
        ys = np.empty(k)
        m = 0
        total = 0.0
        for p in range(k):
            x = points[lo + p, 0]
            y = points[lo + p, 1]
            if p > 0:
                seg = math.hypot(x - points[lo + p - 1, 0], y - points[lo + p - 1, 1])
                if seg <= 0.0:
                    continue
                total += seg
            cum[m] = total
            xs[m] = x
            ys[m] = y
            m += 1
        if total <= 0.0:
            for s in range(samples):
                out[i, s, 0] = points[lo, 0]
                out[i, s, 1] = points[lo, 1]
            continue
        at = np.linspace(0.0, total, samples)
        out[i, :, 0] = np.interp(at, cum[:m], xs[:m])
        out[i, :, 1] = np.interp(at, cum[:m], ys[:m])
    return out


@numba.njit(cache=True, nogil=True)
def _mean_to_line(
    samp: NDArray[np.float64], points: NDArray[np.float64], lo: int, hi: int
) -> float:  # pragma: no cover - compiled
    total = 0.0
    for s in range(samp.shape[0]):
        qx = samp[s, 0]
        qy = samp[s, 1]
        if hi - lo == 1:
            best = math.hypot(qx - points[lo, 0], qy - points[lo, 1])
        else:
            best = np.inf
            for p in range(lo, hi - 1):
                x0 = points[p, 0]
                y0 = points[p, 1]
                dx = points[p + 1, 0] - x0
                dy = points[p + 1, 1] - y0
                len2 = dx * dx + dy * dy
                t = 0.0
                if len2 > 0:
                    t = min(1.0, max(0.0, ((qx - x0) * dx + (qy - y0) * dy) / len2))
                d = math.hypot(qx - (x0 + t * dx), qy - (y0 + t * dy))
                if d < best:
                    best = d
        total += best
    mean: float = total / samp.shape[0]
    return mean


@numba.njit(cache=True, nogil=True)
def polyline_similarity_blocks(
    d_points: NDArray[np.float64],
    d_offsets: NDArray[np.int64],
    d_samples: NDArray[np.float64],
    d_index: NDArray[np.int64],
    d_tau: NDArray[np.float64],
    g_points: NDArray[np.float64],
    g_offsets: NDArray[np.int64],
    g_samples: NDArray[np.float64],
    g_index: NDArray[np.int64],
    dstart: NDArray[np.int64],
    dcount: NDArray[np.int64],
    gstart: NDArray[np.int64],
    gcount: NDArray[np.int64],
    offsets: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Similarity max(0, 1 - d / (2 tau)) of every (detection, GT) pair inside each group."""
    for b in range(dstart.shape[0]):
        gc = gcount[b]
        ds = dstart[b]
        gs = gstart[b]
        off = offsets[b]
        for i in range(dcount[b]):
            di = d_index[ds + i]
            tau = d_tau[ds + i]
            for j in range(gc):
                gi = g_index[gs + j]
                ab = _mean_to_line(d_samples[di], g_points, g_offsets[gi], g_offsets[gi + 1])
                ba = _mean_to_line(g_samples[gi], d_points, d_offsets[di], d_offsets[di + 1])
                dist = 0.5 * (ab + ba)
                out[off + i * gc + j] = max(0.0, 1.0 - dist / (2.0 * tau))
