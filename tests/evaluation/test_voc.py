"""VOC AP against the published padilla sample and small hand-checked cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from predscope.evaluation.voc import (
    box_iou_xywh,
    eleven_point_ap,
    evaluate_voc,
    every_point_ap,
)
from predscope.exceptions import EvaluationError

DATA = Path(__file__).resolve().parents[2] / "data" / "padilla-voc-sample-7"


def _read_sample() -> dict[str, np.ndarray]:
    """Parse ``class x y w h`` (GT) and ``class score x y w h`` (detections) on any whitespace."""
    cols: dict[str, list[object]] = {k: [] for k in ("gi", "gb", "di", "db", "ds")}
    for img, path in enumerate(sorted((DATA / "groundtruths").glob("*.txt"))):
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts:
                cols["gi"].append(img)
                cols["gb"].append([float(v) for v in parts[1:5]])
    for img, path in enumerate(sorted((DATA / "detections").glob("*.txt"))):
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts:
                cols["di"].append(img)
                cols["ds"].append(float(parts[1]))
                cols["db"].append([float(v) for v in parts[2:6]])
    return {k: np.asarray(v) for k, v in cols.items()}


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    return _read_sample()


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    return dict(json.loads((DATA / "expected_published.json").read_text()))


def _run(sample: dict[str, np.ndarray], t: float, plus_one: bool) -> tuple[float, float]:
    n_det, n_gt = len(sample["di"]), len(sample["gi"])
    res = evaluate_voc(
        sample["di"],
        np.zeros(n_det, dtype=int),
        sample["db"],
        sample["ds"],
        sample["gi"],
        np.zeros(n_gt, dtype=int),
        sample["gb"],
        iou_threshold=t,
        plus_one=plus_one,
    )
    assert res.per_class[0].n_gt == 15
    return res.map, res.map_11


def test_sample_counts(sample: dict[str, np.ndarray]) -> None:
    assert len(sample["gi"]) == 15 and len(sample["di"]) == 24


@pytest.mark.parametrize("t", ["0.1", "0.3", "0.5", "0.75"])
def test_published_plus_one(
    sample: dict[str, np.ndarray], expected: dict[str, object], t: str
) -> None:
    ap, ap11 = _run(sample, float(t), plus_one=True)
    assert ap == pytest.approx(expected["AP_every_point"][t], abs=1e-10)  # type: ignore[index]
    assert ap11 == pytest.approx(expected["AP_11_point"][t], abs=1e-10)  # type: ignore[index]


@pytest.mark.parametrize("t", ["0.1", "0.3", "0.5", "0.75"])
def test_derived_without_plus_one(
    sample: dict[str, np.ndarray], expected: dict[str, object], t: str
) -> None:
    derived = expected["derived_without_plus1_IoU"]
    ap, ap11 = _run(sample, float(t), plus_one=False)
    assert ap == pytest.approx(derived["AP_every_point"][t], abs=1e-10)  # type: ignore[index]
    assert ap11 == pytest.approx(derived["AP_11_point"][t], abs=1e-10)  # type: ignore[index]


def test_published_pr_table_at_03(sample: dict[str, np.ndarray]) -> None:
    """results.txt prints the 24-row precision and recall lists (two decimals) at IoU 0.3."""
    text = (DATA / "results.txt").read_text()
    lines = {
        ln.split(":")[0]: ln for ln in text.splitlines() if ln.startswith(("Precision:", "Recall:"))
    }
    pub_p = [
        float(v) for v in lines["Precision"].split("[")[1].rstrip("]").replace("'", "").split(",")
    ]
    pub_r = [
        float(v) for v in lines["Recall"].split("[")[1].rstrip("]").replace("'", "").split(",")
    ]
    n = len(sample["di"])
    res = evaluate_voc(
        sample["di"],
        np.zeros(n, dtype=int),
        sample["db"],
        sample["ds"],
        sample["gi"],
        np.zeros(15, dtype=int),
        sample["gb"],
        iou_threshold=0.3,
        plus_one=True,
    ).per_class[0]
    assert len(pub_p) == 24 == len(res.precision)
    np.testing.assert_allclose(res.precision, pub_p, atol=0.005 + 1e-12)
    np.testing.assert_allclose(res.recall, pub_r, atol=0.005 + 1e-12)
    assert int(res.tp.sum()) == 7 and int(res.fp.sum()) == 17
    # the ranking is stable: the two 0.95 detections keep file order (image 5 before image 7)
    assert list(res.scores[:2]) == [0.95, 0.95]
    assert sample["di"][res.detection_index[0]] == 4 and sample["di"][res.detection_index[1]] == 6


def test_plus_one_iou_by_hand() -> None:
    a = np.array([[0.0, 0.0, 9.0, 9.0]])  # pixels 0..9 inclusive: 100 pixels with +1
    b = np.array([[5.0, 0.0, 9.0, 9.0]])  # overlap columns 5..9: 5 x 10 = 50
    assert box_iou_xywh(a, b, plus_one=True)[0, 0] == pytest.approx(50 / 150)
    assert box_iou_xywh(a, b, plus_one=False)[0, 0] == pytest.approx(36 / 126)


def test_tp_fp_by_hand_duplicate_and_difficult() -> None:
    gt = np.array([[0, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10]], dtype=float)
    det = np.array(
        [[0, 0, 10, 10], [1, 0, 10, 10], [20, 0, 10, 10], [40, 0, 10, 10], [60, 0, 5, 5]],
        dtype=float,
    )
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    res = evaluate_voc(
        np.zeros(5, dtype=int),
        np.zeros(5, dtype=int),
        det,
        scores,
        np.zeros(3, dtype=int),
        np.zeros(3, dtype=int),
        gt,
        gt_difficult=[False, False, True],
    ).per_class[0]
    # det 1 duplicates GT 0 -> FP; det 3 hits the difficult GT -> ignored; det 4 hits nothing -> FP
    assert res.tp.tolist() == [True, False, True, False, False]
    assert res.fp.tolist() == [False, True, False, False, True]
    assert res.matched_gt.tolist() == [0, -1, 1, -1, -1]
    assert res.n_gt == 2
    np.testing.assert_allclose(res.precision, [1.0, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(res.recall, [0.5, 0.5, 1.0, 1.0])
    assert res.ap == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))


def test_voc_looks_only_at_best_gt() -> None:
    """Unlike COCO, a detection whose best GT is taken is FP even if another GT would pass."""
    gt = np.array([[0, 0, 10, 10], [4, 0, 10, 10]], dtype=float)
    det = np.array([[0, 0, 10, 10], [1, 0, 10, 10]], dtype=float)
    res = evaluate_voc(
        [0, 0], [0, 0], det, [0.9, 0.8], [0, 0], [0, 0], gt, iou_threshold=0.5
    ).per_class[0]
    assert res.tp.tolist() == [True, False]


def test_multi_class_map_and_class_without_gt() -> None:
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    det = np.array([[0, 0, 10, 10], [50, 50, 5, 5], [0, 0, 10, 10]], dtype=float)
    res = evaluate_voc([0, 1, 0], [0, 0, 2], det, [0.9, 0.8, 0.7], [0, 1], [0, 1], gt)
    aps = res.ap_by_class()
    assert aps[0] == pytest.approx(1.0) and aps[1] == 0.0 and np.isnan(aps[2])
    assert res.map == pytest.approx(0.5)


def test_ap_interpolations_by_hand() -> None:
    p = np.array([1.0, 0.5, 2 / 3])
    r = np.array([0.5, 0.5, 1.0])
    assert every_point_ap(p, r) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert eleven_point_ap(p, r) == pytest.approx((6 * 1.0 + 5 * (2 / 3)) / 11)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(EvaluationError, match="det_scores"):
        evaluate_voc([0], [0], [[0, 0, 1, 1]], [0.5, 0.4], [0], [0], [[0, 0, 1, 1]])
    with pytest.raises(EvaluationError, match="gt_boxes"):
        evaluate_voc([0], [0], [[0, 0, 1, 1]], [0.5], [0], [0], [[0, 0, 1]])
    with pytest.raises(EvaluationError, match="negative"):
        evaluate_voc([0], [0], [[0, 0, -1, 1]], [0.5], [0], [0], [[0, 0, 1, 1]])
