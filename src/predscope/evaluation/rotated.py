"""Exact IoU of rotated rectangles (Encord's rotatable bounding box).

Encord stores ``x, y, w, h`` of the unrotated box (top-left corner, normalised to the image) and
``theta``, degrees clockwise in screen space (y grows downwards) about the box centre. Normalised
units stretch differently along x and y, so a rotation is only a rotation in pixels: callers pass
the image size and everything below works in pixels. The overlap of two convex quadrilaterals is
found by Sutherland-Hodgman clipping and measured with the shoelace formula, in a numba kernel
cached on disk.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from predscope.exceptions import EvaluationError

FloatArray = npt.NDArray[np.float64]


def _check_boxes(name: str, boxes: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 5)
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise EvaluationError(
            f"rotated IoU: argument '{name}' has shape {arr.shape}, expected (N, 5) rows of [x, "
            "y, w, h, theta]"
        )
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(
            f"rotated IoU: argument '{name}' contains NaN or infinite values - fix those rows"
        )
    if np.any(arr[:, 2:4] < 0):
        raise EvaluationError(
            f"rotated IoU: argument '{name}' has a negative width or height - w and h must be >= 0"
        )
    return arr


def rotated_box_corners(boxes: npt.ArrayLike) -> FloatArray:
    """Corners (N, 4, 2) of pixel-space ``[x, y, w, h, theta]`` boxes, in the unrotated TL, TR, BR,
    BL order.

    A positive theta turns the box clockwise on screen: with y pointing down, the ordinary rotation
    matrix does exactly that.
    """
    arr = _check_boxes("boxes", boxes)
    cx = arr[:, 0] + arr[:, 2] / 2.0
    cy = arr[:, 1] + arr[:, 3] / 2.0
    hw, hh = arr[:, 2] / 2.0, arr[:, 3] / 2.0
    rad = np.deg2rad(arr[:, 4])
    cos, sin = np.cos(rad), np.sin(rad)
    dx = np.stack((-hw, hw, hw, -hw), axis=1)
    dy = np.stack((-hh, -hh, hh, hh), axis=1)
    out = np.empty((arr.shape[0], 4, 2), dtype=np.float64)
    out[:, :, 0] = cx[:, None] + dx * cos[:, None] - dy * sin[:, None]
    out[:, :, 1] = cy[:, None] + dx * sin[:, None] + dy * cos[:, None]
    return out


def normalised_to_pixels(boxes: npt.ArrayLike, width: float, height: float) -> FloatArray:
    """Encord normalised ``[x, y, w, h, theta]`` rows to pixel rows (theta unchanged)."""
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise EvaluationError(
            f"rotated IoU: image size {width}x{height} is not positive - pass the frame's width "
            "and height in pixels"
        )
    arr = _check_boxes("boxes", boxes).copy()
    arr[:, 0] *= width
    arr[:, 2] *= width
    arr[:, 1] *= height
    arr[:, 3] *= height
    return arr


@numba.njit(cache=True)
def _poly_area(xs: FloatArray, ys: FloatArray, n: int) -> float:
    s = 0.0
    for i in range(n):
        j = (i + 1) % n
        s += xs[i] * ys[j] - xs[j] * ys[i]
    return 0.5 * s


@numba.njit(cache=True)
def _clip_area(a: FloatArray, b: FloatArray) -> float:
    """Area of quad ``a`` clipped by quad ``b``; both counter-clockwise (positive shoelace area)."""
    px = np.empty(64)
    py = np.empty(64)
    qx = np.empty(64)
    qy = np.empty(64)
    n = 4
    for i in range(4):
        px[i] = a[i, 0]
        py[i] = a[i, 1]
    for e in range(4):
        ex0, ey0 = b[e, 0], b[e, 1]
        ex1, ey1 = b[(e + 1) % 4, 0], b[(e + 1) % 4, 1]
        m = 0
        for i in range(n):
            sx, sy = px[i], py[i]
            tx, ty = px[(i + 1) % n], py[(i + 1) % n]
            ds = (ex1 - ex0) * (sy - ey0) - (ey1 - ey0) * (sx - ex0)
            dt = (ex1 - ex0) * (ty - ey0) - (ey1 - ey0) * (tx - ex0)
            if ds >= 0.0:
                qx[m] = sx
                qy[m] = sy
                m += 1
                if dt < 0.0:
                    r = ds / (ds - dt)
                    qx[m] = sx + r * (tx - sx)
                    qy[m] = sy + r * (ty - sy)
                    m += 1
            elif dt >= 0.0:
                r = ds / (ds - dt)
                qx[m] = sx + r * (tx - sx)
                qy[m] = sy + r * (ty - sy)
                m += 1
        n = m
        if n < 3:
            return 0.0
        for i in range(n):
            px[i] = qx[i]
            py[i] = qy[i]
    return abs(_poly_area(px, py, n))


@numba.njit(cache=True)
def _iou_matrix(
    ca: FloatArray, cb: FloatArray, area_a: FloatArray, area_b: FloatArray
) -> FloatArray:
    na, nb = ca.shape[0], cb.shape[0]
    out = np.zeros((na, nb))
    for i in range(na):
        ax0, ax1 = ca[i, :, 0].min(), ca[i, :, 0].max()
        ay0, ay1 = ca[i, :, 1].min(), ca[i, :, 1].max()
        for j in range(nb):
            if cb[j, :, 0].min() >= ax1 or cb[j, :, 0].max() <= ax0:
                continue
            if cb[j, :, 1].min() >= ay1 or cb[j, :, 1].max() <= ay0:
                continue
            if area_a[i] <= 0.0 or area_b[j] <= 0.0:
                continue
            inter = _clip_area(ca[i], cb[j])
            union = area_a[i] + area_b[j] - inter
            if union > 0.0:
                out[i, j] = min(1.0, max(0.0, inter / union))
    return out


def rotated_iou_pixels(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU matrix (len(a), len(b)) of pixel-space ``[x, y, w, h, theta]`` rotated boxes."""
    aa = _check_boxes("a", a)
    bb = _check_boxes("b", b)
    ca = np.ascontiguousarray(rotated_box_corners(aa))
    cb = np.ascontiguousarray(rotated_box_corners(bb))
    out: FloatArray = _iou_matrix(ca, cb, aa[:, 2] * aa[:, 3], bb[:, 2] * bb[:, 3])
    return out


def rotated_iou(a: npt.ArrayLike, b: npt.ArrayLike, width: float, height: float) -> FloatArray:
    """IoU matrix of Encord normalised rotatable boxes on a ``width`` x ``height`` pixel image."""
    return rotated_iou_pixels(
        normalised_to_pixels(a, width, height), normalised_to_pixels(b, width, height)
    )


@numba.njit(cache=True, nogil=True)
def rotated_iou_blocks(
    d_corners: FloatArray,
    d_area: FloatArray,
    g_corners: FloatArray,
    g_area: FloatArray,
    g_crowd: npt.NDArray[np.bool_],
    dstart: npt.NDArray[np.int64],
    dcount: npt.NDArray[np.int64],
    gstart: npt.NDArray[np.int64],
    gcount: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    out: FloatArray,
) -> None:  # pragma: no cover - compiled
    """Rotated IoU of every (detection, GT) pair inside each group (row-major blocks).

    Corners are in sorted order already. A crowd GT uses intersection / detection area, as COCO
    does for boxes and masks.
    """
    for b in range(dstart.shape[0]):
        gc = gcount[b]
        ds = dstart[b]
        gs = gstart[b]
        off = offsets[b]
        for i in range(dcount[b]):
            a = d_corners[ds + i]
            ax0, ax1 = a[:, 0].min(), a[:, 0].max()
            ay0, ay1 = a[:, 1].min(), a[:, 1].max()
            for j in range(gc):
                k = off + i * gc + j
                out[k] = 0.0
                g = g_corners[gs + j]
                if g[:, 0].min() >= ax1 or g[:, 0].max() <= ax0:
                    continue
                if g[:, 1].min() >= ay1 or g[:, 1].max() <= ay0:
                    continue
                if d_area[ds + i] <= 0.0 or g_area[gs + j] <= 0.0:
                    continue
                inter = _clip_area(a, g)
                if g_crowd[gs + j]:
                    union = d_area[ds + i]
                else:
                    union = d_area[ds + i] + g_area[gs + j] - inter
                if union > 0.0:
                    out[k] = min(1.0, max(0.0, inter / union))
