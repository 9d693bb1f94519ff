"""Compiled COCO RLE routines: string decoding, area, box and mask IoU on the runs.

They follow ``maskApi.c`` (``rleFrString``, ``rleArea``, ``rleToBbox``, ``bbIou``, ``rleIou``)
step for step, with the same integer arithmetic, so IoUs equal pycocotools' bit for bit.
Masks stay compressed strings; each is decoded into scratch space only when needed.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True)
def decode(buf: NDArray[np.uint8], start: int, end: int, out: NDArray[np.int64]) -> int:
    """Decode one compressed-RLE string ``buf[start:end]`` into ``out``; return the run count."""
    m = 0
    p = start
    while p < end:
        x = 0
        k = 0
        more = True
        while more:
            c = int(buf[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
            if not more and (c & 0x10) != 0:
                x |= -1 << (5 * k)
        if m > 2:
            x += out[m - 2]
        out[m] = x & 0xFFFFFFFF
        m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _area(cnts: NDArray[np.int64], m: int) -> int:
    a = 0
    for j in range(1, m, 2):
        a += cnts[j]
    return a


@numba.njit(cache=True, nogil=True)
def _bbox(cnts: NDArray[np.int64], m: int, h: int, w: int, box: NDArray[np.float64]) -> None:
    if m == 0:
        box[0] = 0.0
        box[1] = 0.0
        box[2] = 0.0
        box[3] = 0.0
        return
    mm = (m // 2) * 2
    xs = w
    ys = h
    xe = 0
    ye = 0
    cc = 0
    xp = 0
    for j in range(mm):
        cc += cnts[j]
        t = cc - j % 2
        y = t % h
        x = (t - y) // h
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys = 0
            ye = h - 1
        xs = min(xs, x)
        xe = max(xe, x)
        ys = min(ys, y)
        ye = max(ye, y)
    box[0] = xs
    box[1] = ys
    box[2] = xe - xs + 1
    box[3] = ye - ys + 1


@numba.njit(cache=True, nogil=True)
def area_and_bbox(
    buf: NDArray[np.uint8],
    off: NDArray[np.int64],
    size: NDArray[np.int64],
    area: NDArray[np.float64],
    bbox: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """``area`` and ``toBbox`` of every mask."""
    longest = 1
    for i in range(off.shape[0] - 1):
        longest = max(longest, off[i + 1] - off[i])
    cnts = np.empty(longest, dtype=np.int64)
    for i in range(off.shape[0] - 1):
        m = decode(buf, off[i], off[i + 1], cnts)
        area[i] = _area(cnts, m)
        _bbox(cnts, m, size[i, 0], size[i, 1], bbox[i])


@numba.njit(cache=True, nogil=True)
def _run_iou(dc: NDArray[np.int64], ka: int, gc: NDArray[np.int64], kb: int, crowd: bool) -> float:
    if ka == 0 or kb == 0:
        return 0.0
    ca = dc[0]
    cb = gc[0]
    va = False
    vb = False
    a = 1
    b = 1
    u = 0
    inter = 0
    ct = 1
    while ct > 0:
        c = min(ca, cb)
        if va or vb:
            u += c
            if va and vb:
                inter += c
        ct = 0
        ca -= c
        if ca == 0 and a < ka:
            ca = dc[a]
            a += 1
            va = not va
        ct += ca
        cb -= c
        if cb == 0 and b < kb:
            cb = gc[b]
            b += 1
            vb = not vb
        ct += cb
    if inter == 0:
        u = 1
    elif crowd:
        u = _area(dc, ka)
    return inter / u


@numba.njit(cache=True, nogil=True)
def mask_iou_groups(
    dbuf: NDArray[np.uint8],
    doff: NDArray[np.int64],
    dsize: NDArray[np.int64],
    d_rows: NDArray[np.int64],
    gbuf: NDArray[np.uint8],
    goff: NDArray[np.int64],
    gsize: NDArray[np.int64],
    g_rows: NDArray[np.int64],
    g_crowd: NDArray[np.bool_],
    dstart: NDArray[np.int64],
    dcount: NDArray[np.int64],
    gstart: NDArray[np.int64],
    gcount: NDArray[np.int64],
    offsets: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    """Mask IoU of each group's (detection, GT) pairs; box prefilter first, as ``rleIou`` does."""
    dbox = np.empty(4, dtype=np.float64)
    for b in range(dstart.shape[0]):
        ng = gcount[b]
        if ng == 0:
            continue
        gs = gstart[b]
        total = 0
        for j in range(ng):
            r = g_rows[gs + j]
            total += goff[r + 1] - goff[r]
        gcnt = np.empty(max(total, 1), dtype=np.int64)
        gpos = np.empty(ng + 1, dtype=np.int64)
        gbox = np.empty((ng, 4), dtype=np.float64)
        gpos[0] = 0
        for j in range(ng):
            r = g_rows[gs + j]
            m = decode(gbuf, goff[r], goff[r + 1], gcnt[gpos[j] :])
            gpos[j + 1] = gpos[j] + m
            _bbox(gcnt[gpos[j] :], m, gsize[r, 0], gsize[r, 1], gbox[j])
        ds = dstart[b]
        off = offsets[b]
        for i in range(dcount[b]):
            r = d_rows[ds + i]
            dcnt = np.empty(max(doff[r + 1] - doff[r], 1), dtype=np.int64)
            km = decode(dbuf, doff[r], doff[r + 1], dcnt)
            _bbox(dcnt, km, dsize[r, 0], dsize[r, 1], dbox)
            da = dbox[2] * dbox[3]
            for j in range(ng):
                k = off + i * ng + j
                out[k] = 0.0
                w = min(dbox[2] + dbox[0], gbox[j, 2] + gbox[j, 0]) - max(dbox[0], gbox[j, 0])
                if w <= 0:
                    continue
                h = min(dbox[3] + dbox[1], gbox[j, 3] + gbox[j, 1]) - max(dbox[1], gbox[j, 1])
                if h <= 0:
                    continue
                crowd = g_crowd[gs + j]
                inter = w * h
                u = da if crowd else da + gbox[j, 2] * gbox[j, 3] - inter
                if inter / u <= 0:
                    continue
                gr = g_rows[gs + j]
                if dsize[r, 0] != gsize[gr, 0] or dsize[r, 1] != gsize[gr, 1]:
                    out[k] = -1.0
                    continue
                out[k] = _run_iou(
                    dcnt, km, gcnt[gpos[j] : gpos[j + 1]], gpos[j + 1] - gpos[j], crowd
                )
