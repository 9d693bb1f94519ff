"""Object keypoint similarity (OKS), the keypoint analogue of IoU, as ``computeOks`` defines it.

``e = d^2 / (2 sigma)^2 / (area + eps) / 2`` and OKS is the mean of ``exp(-e)`` over the GT's
labelled keypoints; a GT without labelled keypoints measures distance to its box enlarged by
its width and height on every side.
"""

from __future__ import annotations

import numpy as np

from predscope.evaluation.inputs import FloatArray, IntArray

_EPS = float(np.spacing(1))


def oks_matrix(
    dt_kp: FloatArray,
    gt_kp: FloatArray,
    gt_box: FloatArray,
    gt_area: FloatArray,
    sigmas: FloatArray,
) -> FloatArray:
    """OKS matrix [len(dt), len(gt)]; keypoints are arrays [N, K, 3] of (x, y, visibility)."""
    variances = (np.asarray(sigmas, dtype=np.float64) * 2) ** 2
    nd = dt_kp.shape[0]
    out = np.zeros((nd, gt_kp.shape[0]), dtype=np.float64)
    if nd == 0:
        return out
    xd = dt_kp[:, :, 0]
    yd = dt_kp[:, :, 1]
    for j in range(gt_kp.shape[0]):
        xg = gt_kp[j, :, 0]
        yg = gt_kp[j, :, 1]
        vg = gt_kp[j, :, 2]
        visible = vg > 0
        if np.count_nonzero(visible) > 0:
            dx = xd - xg[None, :]
            dy = yd - yg[None, :]
        else:
            x, y, w, h = gt_box[j]
            x0, x1 = x - w, x + w * 2
            y0, y1 = y - h, y + h * 2
            dx = np.maximum(0.0, x0 - xd) + np.maximum(0.0, xd - x1)
            dy = np.maximum(0.0, y0 - yd) + np.maximum(0.0, yd - y1)
        e = (dx**2 + dy**2) / variances[None, :] / (gt_area[j] + _EPS) / 2
        if np.count_nonzero(visible) > 0:
            e = e[:, visible]
        out[:, j] = np.sum(np.exp(-e), axis=1) / e.shape[1]
    return out


def oks_blocks(
    dt_kp: FloatArray,
    gt_kp: FloatArray,
    gt_box: FloatArray,
    gt_area: FloatArray,
    sigmas: FloatArray,
    d_index: IntArray,
    g_index: IntArray,
    dstart: IntArray,
    dcount: IntArray,
    gstart: IntArray,
    gcount: IntArray,
    offsets: IntArray,
    out: FloatArray,
) -> None:
    """Fill ``out`` with each group's OKS block, row-major (detections x GT)."""
    for b in np.flatnonzero(gcount > 0):
        ds, nd, gs, gc, off = dstart[b], dcount[b], gstart[b], gcount[b], offsets[b]
        gi = g_index[gs : gs + gc]
        block = oks_matrix(dt_kp[d_index[ds : ds + nd]], gt_kp[gi], gt_box[gi], gt_area[gi], sigmas)
        out[off : off + nd * gc] = block.ravel()
