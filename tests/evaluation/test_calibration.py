"""Expected calibration error and the reliability table on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from predscope.evaluation.calibration import calibration
from predscope.exceptions import EvaluationError


def test_hand_checked_table() -> None:
    scores = [0.05, 0.15, 0.95, 0.9, 0.85, 1.0]
    correct = [0, 1, 1, 1, 0, 1]
    res = calibration(scores, correct, n_bins=10)
    np.testing.assert_array_equal(res.count, [1, 1, 0, 0, 0, 0, 0, 0, 1, 3])
    assert res.mean_confidence[0] == pytest.approx(0.05) and res.accuracy[0] == 0.0
    assert (
        res.mean_confidence[9] == pytest.approx((0.95 + 0.9 + 1.0) / 3) and res.accuracy[9] == 1.0
    )
    assert np.isnan(res.accuracy[4]) and np.isnan(res.mean_confidence[4])
    gaps = {0: 0.05, 1: 0.85, 8: 0.85, 9: 1 - 2.85 / 3}
    expected = (gaps[0] + gaps[1] + gaps[8] + 3 * gaps[9]) / 6
    assert res.ece == pytest.approx(expected)
    assert res.mce == pytest.approx(0.85)
    np.testing.assert_allclose(res.edges, np.linspace(0, 1, 11))


def test_edges_belong_to_the_upper_bin() -> None:
    res = calibration([0.0, 0.3, 0.5, 1.0], [1, 1, 1, 1], n_bins=10)
    assert res.count[0] == 1 and res.count[3] == 1 and res.count[5] == 1 and res.count[9] == 1


def test_perfect_calibration_is_zero() -> None:
    # 10 predictions at 0.7 with 7 correct, 4 at 0.25 with 1 correct
    scores = [0.7] * 10 + [0.25] * 4
    correct = [1] * 7 + [0] * 3 + [1, 0, 0, 0]
    res = calibration(scores, correct, n_bins=5)
    assert res.ece == pytest.approx(0.0, abs=1e-12)
    assert res.count.sum() == 14


def test_bool_flags_and_empty() -> None:
    assert calibration([0.9], [True]).ece == pytest.approx(0.1)
    empty = calibration([], [])
    assert empty.n == 0 and np.isnan(empty.ece) and empty.count.sum() == 0


def test_refuses_scores_outside_unit_interval() -> None:
    with pytest.raises(EvaluationError, match=r"outside \[0, 1\].*index 1"):
        calibration([0.5, 7.44], [1, 0])
    with pytest.raises(EvaluationError, match="scores"):
        calibration([float("nan")], [1])


def test_bad_arguments_are_named() -> None:
    with pytest.raises(EvaluationError, match="'correct'"):
        calibration([0.5, 0.6], [1])
    with pytest.raises(EvaluationError, match="0/1"):
        calibration([0.5], [2])
    with pytest.raises(EvaluationError, match="n_bins"):
        calibration([0.5], [1], n_bins=0)
