"""Rotated-box IoU: axis-aligned parity, hand-computed cases, and a rasterised cross-check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from predscope.evaluation.rotated import (
    normalised_to_pixels,
    rotated_box_corners,
    rotated_iou,
    rotated_iou_pixels,
)
from predscope.exceptions import EvaluationError


def _random_boxes(rng: np.random.Generator, n: int, theta: bool) -> np.ndarray:
    xy = rng.uniform(0, 300, size=(n, 2))
    wh = rng.uniform(5, 150, size=(n, 2))
    th = rng.uniform(-180, 180, size=(n, 1)) if theta else np.zeros((n, 1))
    return np.hstack((xy, wh, th))


def test_theta_zero_equals_axis_aligned_pycocotools() -> None:
    rng = np.random.default_rng(7)
    a = _random_boxes(rng, 40, theta=False)
    b = _random_boxes(rng, 30, theta=False)
    ours = rotated_iou_pixels(a, b)
    ref = np.asarray(mask_utils.iou(a[:, :4].tolist(), b[:, :4].tolist(), [0] * len(b)))
    assert np.count_nonzero(ref) > 20
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_identical_disjoint_and_symmetric() -> None:
    rng = np.random.default_rng(1)
    a = _random_boxes(rng, 25, theta=True)
    m = rotated_iou_pixels(a, a)
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-12)
    np.testing.assert_allclose(m, m.T, atol=1e-12)
    far = np.array([[0, 0, 10, 10, 30.0], [100, 100, 10, 10, 60.0]])
    assert rotated_iou_pixels(far[:1], far[1:])[0, 0] == 0.0


def test_square_rotated_by_90_is_itself() -> None:
    sq = np.array([[10.0, 20.0, 40.0, 40.0, 0.0]])
    for t in (90.0, 180.0, -90.0, 270.0):
        turned = sq.copy()
        turned[0, 4] = t
        assert rotated_iou_pixels(sq, turned)[0, 0] == pytest.approx(1.0, abs=1e-12)


def test_rectangle_rotated_by_90_hand_computed() -> None:
    # 40x20 about centre (20, 10) turned 90 degrees: a 20x40 box; overlap 20x20 = 400, union 800 +
    # 800 - 400
    r = np.array([[0.0, 0.0, 40.0, 20.0, 0.0], [0.0, 0.0, 40.0, 20.0, 90.0]])
    assert rotated_iou_pixels(r[:1], r[1:])[0, 0] == pytest.approx(400 / 1200, abs=1e-12)


def test_square_at_45_degrees_hand_computed() -> None:
    # unit square vs itself turned 45 degrees: the overlap is a regular octagon of side sqrt(2) - 1,
    # area 2 (1 + sqrt 2) s^2 = 2 (sqrt 2 - 1); union 2 - that
    s = np.array([[0.0, 0.0, 1.0, 1.0, 0.0]])
    d = np.array([[0.0, 0.0, 1.0, 1.0, 45.0]])
    inter = 2 * (math.sqrt(2) - 1)
    assert rotated_iou_pixels(s, d)[0, 0] == pytest.approx(inter / (2 - inter), abs=1e-12)


def test_clockwise_on_screen() -> None:
    # turning a wide box clockwise by a small angle moves its right end down (y grows downwards)
    corners = rotated_box_corners([[0.0, 0.0, 100.0, 10.0, 10.0]])[0]
    top_right = corners[1]
    assert top_right[0] > 50 and top_right[1] > 0.0


def test_normalised_units_use_pixels() -> None:
    # on a 200x100 image, a normalised square 0.1 x 0.2 is 20x20 pixels, so 90 degrees leaves it
    # unchanged
    a = np.array([[0.4, 0.4, 0.1, 0.2, 0.0]])
    b = a.copy()
    b[0, 4] = 90.0
    assert rotated_iou(a, b, 200, 100)[0, 0] == pytest.approx(1.0, abs=1e-12)
    px = normalised_to_pixels(a, 200, 100)
    np.testing.assert_allclose(px, [[80, 40, 20, 20, 0]])


def _raster_iou(a: np.ndarray, b: np.ndarray, scale: float, size: int) -> float:
    rles = []
    for box in (a, b):
        poly = (rotated_box_corners(box[None, :])[0] * scale).reshape(-1).tolist()
        rles.append(mask_utils.merge(mask_utils.frPyObjects([poly], size, size)))
    return float(mask_utils.iou([rles[0]], [rles[1]], [0])[0, 0])


def test_against_rasterisation() -> None:
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(60):
        a = np.concatenate(
            (rng.uniform(60, 120, 2), rng.uniform(20, 80, 2), rng.uniform(-180, 180, 1))
        )
        b = a + np.concatenate(
            (rng.uniform(-30, 30, 2), rng.uniform(-10, 10, 2), rng.uniform(-60, 60, 1))
        )
        ours = rotated_iou_pixels(a[None], b[None])[0, 0]
        if ours == 0.0:
            continue
        checked += 1
        assert ours == pytest.approx(_raster_iou(a, b, 4.0, 1000), abs=1e-2)
    assert checked > 40


def test_bad_inputs() -> None:
    with pytest.raises(EvaluationError, match="'a'"):
        rotated_iou_pixels([[0, 0, 1, 1]], [[0, 0, 1, 1, 0]])
    with pytest.raises(EvaluationError, match="negative"):
        rotated_iou_pixels([[0, 0, -1, 1, 0]], [[0, 0, 1, 1, 0]])
    with pytest.raises(EvaluationError, match="image size"):
        rotated_iou([[0, 0, 0.1, 0.1, 0]], [[0, 0, 0.1, 0.1, 0]], 0, 100)


def test_empty_and_degenerate() -> None:
    assert rotated_iou_pixels(np.zeros((0, 5)), [[0, 0, 1, 1, 0]]).shape == (0, 1)
    assert rotated_iou_pixels([[0, 0, 0, 5, 0]], [[0, 0, 1, 5, 0]])[0, 0] == 0.0
