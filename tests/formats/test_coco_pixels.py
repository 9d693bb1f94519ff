"""``coco_pixels`` gives bit for bit what ``round`` and ``_to_pixels`` give one value at a time.

The vectorised search replaces ``round(v, d)`` by exact float arithmetic and skips digit counts
that cannot be the answer; any slip would change an exported pixel value, so every shortcut is
checked against the scalar code on generated values: ties (exact halves at every digit count)
and their neighbours, products on both sides of 2**52 and 2**53, zeros of both signs, negative
and tiny values, and full-precision fractions as a model writes them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predscope.formats.coco_geometry import _to_pixels, box_to_coco_bbox, coco_bbox_to_box
from predscope.formats.coco_pixels import box_bboxes, pixels_array, round_digits
from predscope.objects.coordinates import BoundingBoxCoordinates

DATA = Path(__file__).resolve().parents[2] / "data"


def same(a: float, b: float) -> bool:
    """Equal as floats, the sign of zero included (``-0.0`` prints differently)."""
    if a != a or b != b:
        return a != a and b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def assert_rounds_like_python(values: np.ndarray) -> None:
    values = np.asarray(values, dtype=np.float64)
    for digits in range(16):
        got = round_digits(values, digits).tolist()
        for v, g in zip(values.tolist(), got, strict=True):
            if g != g:  # left to the scalar code (a product of exactly 2**53)
                assert abs(v * 10.0**digits) == 2.0**53
                continue
            assert same(g, round(v, digits)), (v, digits, g, round(v, digits))


def assert_pixels_like_scalar(fractions: np.ndarray, sizes: np.ndarray) -> None:
    got = pixels_array(np.asarray(fractions, float), np.asarray(sizes, float)).tolist()
    pairs = zip(np.asarray(fractions).tolist(), np.asarray(sizes).tolist(), got, strict=True)
    for f, s, g in pairs:
        assert same(g, _to_pixels(f, int(s))), (f, s, g, _to_pixels(f, int(s)))


RNG = np.random.default_rng(7)


def tie_values(n: int) -> np.ndarray:
    """Exact halves at many digit counts (k + 1/2) / 2**j and decimal-looking halves."""
    odd = RNG.integers(0, 2**20, n) * 2 + 1
    return np.concatenate(
        [
            odd / 2.0 ** RNG.integers(1, 30, n),
            (RNG.integers(0, 20_000, n) + 0.5) / 10.0 ** RNG.integers(0, 8, n),
        ]
    )


@pytest.mark.parametrize(
    "values",
    [
        RNG.random(20_000) * 2_000,  # full-precision pixels
        RNG.integers(0, 4_000, 20_000) + RNG.integers(0, 1_000, 20_000) / 1_000,  # 3 digits
        tie_values(10_000),
        np.nextafter(tie_values(5_000), 0.0),
        np.nextafter(tie_values(5_000), np.inf),
        -(RNG.random(10_000) * 10),  # negative, some rounding to -0.0
        RNG.random(10_000) * 1e-3,
        4.5 + RNG.random(20_000) * 4.6,  # v * 1e15 between 2**52 and 2**53
        np.ldexp(RNG.random(20_000) + 0.5, RNG.integers(-40, 60, 20_000)),  # every binade
        np.array([0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -2.5, 2.675, 0.125, 0.375, 1e15, 4.5e15]),
        np.array([2.0**52, 2.0**53, 2.0**53 / 1e12, 2.0**52 / 1e15, 9007.199254740993]),
    ],
    ids=[
        "full-precision",
        "three-digits",
        "ties",
        "below-ties",
        "above-ties",
        "negative",
        "tiny",
        "2^52-2^53",
        "binades",
        "classic",
        "powers",
    ],
)
def test_round_digits_is_pythons_round(values: np.ndarray) -> None:
    assert_rounds_like_python(values)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
def test_round_digits_is_pythons_round_on_any_float(values: list[float]) -> None:
    assert_rounds_like_python(np.array(values))


def full_precision_case(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fractions as an import makes them from pixel values with 0..15 decimals."""
    sizes = RNG.integers(1, 5_000, n).astype(float)
    pixels = RNG.random(n) * sizes
    decimals = RNG.integers(0, 16, n)
    rounded = zip(pixels.tolist(), decimals.tolist(), strict=True)
    pixels = np.array([round(p, int(d)) for p, d in rounded])
    return pixels / sizes, sizes


@pytest.mark.parametrize("seed", range(3))
def test_pixels_array_is_to_pixels_on_imported_fractions(seed: int) -> None:
    fractions, sizes = full_precision_case(15_000)
    assert_pixels_like_scalar(fractions, sizes)


def test_pixels_array_is_to_pixels_on_raw_fractions() -> None:
    """Fractions that no pixel value normalises back to exactly (the search's fall-through)."""
    sizes = RNG.integers(1, 100_000, 20_000).astype(float)
    assert_pixels_like_scalar(RNG.random(20_000), sizes)
    assert_pixels_like_scalar(np.nextafter(RNG.random(5_000), 2.0), sizes[:5_000])


def test_pixels_array_hands_odd_values_to_the_scalar_code() -> None:
    """Not finite, and a product landing on 2**53 exactly: the scalar path decides them."""
    fractions = np.array([np.nan, np.inf, -np.inf, 2.0**53 / 1e12 / 7, 1.0, 0.0, -0.0])
    sizes = np.array([10.0, 10.0, 10.0, 7.0, 640.0, 480.0, 3.0])
    assert_pixels_like_scalar(fractions, sizes)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.floats(0.0, 1.0),
                st.integers(0, 10**6).map(lambda k: k / 10**6),
                st.integers(0, 4_000).map(lambda k: k / 4_000),
            ),
            st.integers(1, 20_000),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_pixels_array_is_to_pixels_on_any_fraction(pairs: list[tuple[float, int]]) -> None:
    fractions = np.array([f for f, _ in pairs])
    sizes = np.array([s for _, s in pairs], dtype=float)
    assert_pixels_like_scalar(fractions, sizes)


def test_box_bboxes_is_box_to_coco_bbox_on_the_shipped_ground_truth() -> None:
    gt = json.loads((DATA / "coco-val2014-100" / "instances_val2014_100.json").read_text())
    sizes = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    boxes, widths, heights, expected = [], [], [], []
    for ann in gt["annotations"]:
        w, h = sizes[ann["image_id"]]
        box, _ = coco_bbox_to_box(ann["bbox"], w, h)
        boxes.append((box.top_left_x, box.top_left_y, box.width, box.height))
        widths.append(w)
        heights.append(h)
        expected.append(box_to_coco_bbox(box, w, h))
    assert len(boxes) > 500
    assert box_bboxes(boxes, widths, heights) == expected


def test_box_bboxes_keeps_ints_as_the_scalar_code_does() -> None:
    """An int fraction stays an int through ``round`` (``640`` not ``640.0``): that box goes
    the scalar way, and the output types match too."""
    boxes = [(0, 0, 1, 1), (0.5, 0.25, 0.1, 0.2), (1, 0.5, 0, 0.5)]
    got = box_bboxes(boxes, [640, 640, 3], [480, 480, 7])  # type: ignore[arg-type]
    expected = [
        [_to_pixels(v, n) for v, n in zip(b, (w, h, w, h), strict=True)]
        for b, w, h in zip(boxes, [640, 640, 3], [480, 480, 7], strict=True)
    ]
    assert got == expected
    assert [[type(v) for v in b] for b in got] == [[type(v) for v in b] for b in expected]
    assert type(got[0][2]) is int
    assert box_bboxes([], [], []) == []
    c = BoundingBoxCoordinates(0.2, 0.1, 0.3, 0.4)
    assert box_bboxes([(0.3, 0.4, 0.1, 0.2)], [999], [333]) == [box_to_coco_bbox(c, 999, 333)]
