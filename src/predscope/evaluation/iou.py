"""IoU for boxes and RLE masks with COCO's crowd rule (crowd GT: intersection / detection area).

Mask IoU runs on the RLE runs in a compiled kernel that mirrors ``rleIou``; pairs whose mask
boxes cannot overlap are skipped before any run is compared.
"""

from __future__ import annotations

import numpy as np

from predscope.evaluation._rle_kernels import area_and_bbox, mask_iou_groups
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


def mask_area_and_bbox(masks: RleMasks) -> tuple[FloatArray, FloatArray]:
    """``area`` and ``toBbox`` of every mask, as pycocotools.mask computes them."""
    buf, off = masks.packed
    n = len(masks)
    area = np.zeros(n, dtype=np.float64)
    bbox = np.zeros((n, 4), dtype=np.float64)
    if n:
        area_and_bbox(buf, off, masks.size, area, bbox)
    return area, bbox


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
    if out.size == 0:
        return
    dbuf, doff = dt_masks.packed
    gbuf, goff = gt_masks.packed
    mask_iou_groups(
        dbuf,
        doff,
        dt_masks.size,
        np.ascontiguousarray(d_index, dtype=np.int64),
        gbuf,
        goff,
        gt_masks.size,
        np.ascontiguousarray(g_index, dtype=np.int64),
        g_crowd,
        dstart,
        dcount,
        gstart,
        gcount,
        offsets,
        out,
    )
