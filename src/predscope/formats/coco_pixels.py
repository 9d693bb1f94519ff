"""Normalised coordinates back to COCO pixels for many values at once, exactly as one at a time.

``coco_geometry._to_pixels`` gives, for one fraction, the shortest decimal pixel value (fewest
digits after the point, 0 to 15) that normalises back to exactly that fraction: it tries Python's
``round(value, digits)`` for each digit count in turn. An export of 300,000 boxes spent half its
time there (over ten ``round`` calls per value). ``pixels_array`` does the same search over a
whole column with numpy, and gives the same floats bit for bit:

* ``round(v, d)`` in CPython is the double nearest the decimal that rounds the *exact* binary
  value of ``v`` to ``d`` digits, half to even. Here ``v * 10**d`` is split into a double and
  its exact error (Dekker's product, no fused multiply-add needed), so the nearest integer ``n``
  - ties included - is found exactly; ``n / 10**d`` is then one correctly rounded IEEE division,
  which is the nearest double to that decimal. Past ``2**53`` the decimal is within half an ulp
  of ``v``, so ``round`` gives ``v`` back. Zero keeps ``v``'s sign, as ``round`` does.
* the one product that lands on ``2**53`` exactly, and any value that is not finite, are handed
  to ``_to_pixels`` itself.

``tests/formats/test_coco_pixels.py`` checks both against ``round`` and ``_to_pixels`` on
generated values (ties, binade edges, every digit count) and on the shipped COCO files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from predscope.formats.coco_geometry import _to_pixels

__all__ = ["box_bboxes", "pixels_array", "round_digits"]

_SPLIT = 134217729.0  # 2**27 + 1: Dekker's splitter for float64
_TWO52 = 2.0**52
_TWO53 = 2.0**53
_ULP = 2.0**-52
_DIGITS = 16  # _to_pixels tries 0..15 digits

Floats = NDArray[np.float64]


def _power(digits: int) -> tuple[np.float64, np.float64, np.float64]:
    p = np.float64(10.0**digits)  # exact for 0..22 digits
    c = _SPLIT * p
    hi = c - (c - p)
    return p, hi, p - hi


_POWERS = [_power(d) for d in range(_DIGITS)]


def _split(a: Floats | np.float64) -> tuple[Floats, Floats]:
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi  # type: ignore[return-value]


def round_digits(values: Floats, digits: int) -> Floats:
    """``round(v, digits)`` for every finite ``v``; NaN where this cannot decide (``2**53``).

    >>> round_digits(np.array([2.675, 0.125, -0.3]), 2).tolist()
    [2.67, 0.12, -0.3]
    """
    with np.errstate(invalid="ignore", over="ignore"):  # huge values: the answer is v itself
        return _round(values, *_split(values), digits)


def _round(values: Floats, ah: Floats, al: Floats, digits: int) -> Floats:
    """``round_digits`` with ``values`` already split (``_split``)."""
    p, ph, pl = _POWERS[digits]
    y = values * p
    err = ((ah * ph - y) + ah * pl + al * ph) + al * pl  # exactly values * p - y
    n = np.rint(y)  # nearest, ties to even: right unless the error decides
    magnitude = np.abs(y)
    # Below 2**52, y's ulp is at most 1/2 and y - n is exact, so only y - n == +-1/2 can be
    # tipped by the error; from 2**52 to 2**53, y is an integer and the error a tie at +-1/2.
    t = y - n
    tipped = np.flatnonzero((np.abs(t) == 0.5) | (np.abs(err) == 0.5))
    if tipped.size:
        tn, tt, te, tm = n[tipped], t[tipped], err[tipped], magnitude[tipped]
        small = tm < _TWO52
        odd = np.fmod(tn, 2) != 0
        up = np.where(small, (tt == 0.5) & (te > 0), (te == 0.5) & odd)
        down = np.where(small, (tt == -0.5) & (te < 0), (te == -0.5) & odd)
        n[tipped] = np.where(up, tn + 1, np.where(down, tn - 1, tn))
    out: Floats = np.copysign(n / p, values)
    out = np.where(magnitude > _TWO53, values, out)
    return np.where(magnitude == _TWO53, np.nan, out)


def pixels_array(fractions: Floats, sizes: Floats) -> Floats:
    """``[_to_pixels(f, s) for f, s in zip(fractions, sizes)]`` as one float64 array.

    ``sizes`` are the image widths or heights the fractions are of (positive, below ``2**53``).
    Two shortcuts keep the search to the digit counts that can matter:

    * a pixel value ``c`` with ``c / s == f`` lies within ``s * ulp(f) / 2 + ulp(v) / 2`` of
      ``v = f * s`` and ``round(v, d)`` within ``ulp(c) / 2 <= ulp(v)`` of ``c``; where ``v``'s
      distance to the nearest multiple of ``10**-d`` (screened in plain floats, less their
      own rounding) is larger, ``d`` cannot be the answer and is not rounded exactly;
    * once ``v * 10**d`` passes ``2**53``, ``round(v, d)`` is ``v`` for this and every larger
      ``d``, so the answer is ``v`` whether or not it normalises back.

    >>> pixels_array(np.array([0.1, 1 / 3]), np.array([640.0, 480.0])).tolist()
    [64.0, 160.0]
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    values = fractions * sizes
    out = values.copy()
    general = ~np.isfinite(values)
    open_ = ~general  # still searching
    with np.errstate(invalid="ignore", over="ignore"):
        high, low = _split(values)
        spread = sizes * np.spacing(np.abs(fractions)) * 0.5 + np.spacing(np.abs(values)) * 1.5
        reach = spread * (1.0 + 2.0**-40)  # the bound's own rounding
        for digits in range(_DIGITS):
            p = _POWERS[digits][0]
            y = values * p
            magnitude = np.abs(y)
            # |y| * 2**-52 >= ulp(y): what the screen's own product may be off by, and more.
            near = np.abs(y - np.rint(y)) <= reach * p + magnitude * _ULP
            general |= open_ & (magnitude == _TWO53)
            open_ &= magnitude < _TWO53  # past 2**53 round(v, d) is v: out holds v already
            at = np.flatnonzero(near & open_)
            if at.size:
                candidate = _round(values[at], high[at], low[at], digits)
                found = candidate / sizes[at] == fractions[at]  # NaN (not reached) is False
                out[at[found]] = candidate[found]
                open_[at[found]] = False
            if not open_.any():
                break
    for i in np.flatnonzero(general).tolist():
        out[i] = _to_pixels(float(fractions[i]), sizes[i].item())
    return out


def box_bboxes(
    boxes: Sequence[tuple[float, float, float, float]],
    widths: Sequence[int],
    heights: Sequence[int],
) -> list[list[float]]:
    """``box_to_coco_bbox`` of many boxes: ``(top_left_x, top_left_y, width, height)`` fractions
    and each box's image size, to ``[x, y, w, h]`` pixel lists.

    Boxes whose values are all floats go through ``pixels_array``; any other (an ``int`` 0 or 1
    read from a file, which ``round`` keeps an ``int``) one value at a time through ``_to_pixels``.
    """
    if not boxes:
        return []
    columns = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    w = np.asarray(widths, dtype=np.float64)
    h = np.asarray(heights, dtype=np.float64)
    sizes = np.stack([w, h, w, h], axis=1)
    out: list[list[float]] = pixels_array(columns.ravel(), sizes.ravel()).reshape(-1, 4).tolist()
    for i, (a, b, c, d) in enumerate(boxes):
        if (
            type(a) is not float
            or type(b) is not float
            or type(c) is not float
            or type(d) is not float
        ):
            size = (widths[i], heights[i], widths[i], heights[i])
            out[i] = [_to_pixels(v, n) for v, n in zip((a, b, c, d), size, strict=True)]
    return out
