"""IoU for boxes and RLE masks with COCO's crowd rule (crowd GT: intersection / detection area).

Mask IoU runs on the RLE runs through ``pycocotools.mask.iou``; pairs whose mask boxes cannot
overlap are never handed to it, and detections overlapping no GT are never decoded twice.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pycocotools import mask as mask_utils

from predscope.evaluation.inputs import BoolArray, FloatArray, IntArray, RleMasks


def box_iou(dt: FloatArray, gt: FloatArray, crowd: BoolArray | None = None) -> FloatArray:
    """IoU matrix [len(dt), len(gt)] of ``[x, y, w, h]`` boxes, computed as ``bbIou`` does."""
    d = np.asarray(dt, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    dx, dy, dw, dh = (d[:, i : i + 1] for i in range(4))
    gx, gy, gw, gh = (g[None, :, i] for i in range(4))
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    da = dw * dh
    union = da + gw * gh - inter
    if crowd is not None:
        union = np.where(np.asarray(crowd, dtype=np.bool_)[None, :], da, union)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = inter / union
    result: FloatArray = np.where((w > 0) & (h > 0), out, 0.0)
    return result


def mask_boxes(masks: RleMasks, index: IntArray, chunk: int = 65536) -> FloatArray:
    """``toBbox`` of the selected masks (the boxes ``rleIou`` itself prefilters with)."""
    out = np.zeros((index.size, 4), dtype=np.float64)
    for s in range(0, index.size, chunk):
        part = index[s : s + chunk]
        if part.size:
            out[s : s + part.size] = mask_utils.toBbox(masks.as_dicts(part))
    return out


def _overlap(d: FloatArray, g: FloatArray) -> NDArray[np.bool_]:
    w = np.minimum(d[:, None, 2] + d[:, None, 0], g[None, :, 2] + g[None, :, 0]) - np.maximum(
        d[:, None, 0], g[None, :, 0]
    )
    h = np.minimum(d[:, None, 3] + d[:, None, 1], g[None, :, 3] + g[None, :, 1]) - np.maximum(
        d[:, None, 1], g[None, :, 1]
    )
    result: NDArray[np.bool_] = (w > 0) & (h > 0)
    return result


def mask_iou_blocks(
    dt_masks: RleMasks,
    gt_masks: RleMasks,
    d_index: IntArray,
    g_index: IntArray,
    g_crowd: BoolArray,
    dstart: IntArray,
    dcount: IntArray,
    gstart: IntArray,
    gcount: IntArray,
    offsets: IntArray,
    out: FloatArray,
) -> None:
    """Fill ``out`` with the mask IoU of each group's (detection, GT) block, row-major."""
    groups = np.flatnonzero(gcount > 0)
    if groups.size == 0:
        return
    d_rows = np.concatenate([np.arange(dstart[b], dstart[b] + dcount[b]) for b in groups])
    g_rows = np.concatenate([np.arange(gstart[b], gstart[b] + gcount[b]) for b in groups])
    d_box = np.zeros((d_index.size, 4), dtype=np.float64)
    g_box = np.zeros((g_index.size, 4), dtype=np.float64)
    d_box[d_rows] = mask_boxes(dt_masks, d_index[d_rows])
    g_box[g_rows] = mask_boxes(gt_masks, g_index[g_rows])
    for b in groups:
        ds, nd, gs, gc, off = dstart[b], dcount[b], gstart[b], gcount[b], offsets[b]
        hit = _overlap(d_box[ds : ds + nd], g_box[gs : gs + gc])
        rows = np.flatnonzero(hit.any(axis=1))
        if rows.size == 0:
            continue
        cols = np.flatnonzero(hit.any(axis=0))
        dl = dt_masks.as_dicts(d_index[ds + rows])
        gl = gt_masks.as_dicts(g_index[gs + cols])
        crowd = [int(c) for c in g_crowd[gs + cols]]
        vals = np.asarray(mask_utils.iou(dl, gl, crowd), dtype=np.float64)
        block = out[off : off + nd * gc].reshape(nd, gc)
        block[np.ix_(rows, cols)] = vals.reshape(rows.size, cols.size)
