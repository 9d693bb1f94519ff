"""Radio and checklist metrics: the LFW face/non-face file and hand-checked cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from predscope.evaluation.classification import (
    NONE_LABEL,
    average_precision,
    evaluate_checklist,
    evaluate_radio,
)
from predscope.exceptions import EvaluationError

LFW = (
    Path(__file__).resolve().parents[2]
    / "data"
    / "skimage-images"
    / "lfw_subset_labels_and_haar_preds.json"
)


def test_lfw_haar_confusion() -> None:
    doc = json.loads(LFW.read_text())
    names = {int(k): v for k, v in doc["_meta"]["classes"].items()}
    items = doc["items"]
    # key by (data unit, frame); feed predictions in reverse order to prove the join is by key
    gt = {(f"lfw-{it['index']}", 0): names[it["label"]] for it in items}
    preds = {(f"lfw-{it['index']}", 0): names[it["pred"]] for it in reversed(items)}
    scores = {(f"lfw-{it['index']}", 0): it["score"] for it in items}
    res = evaluate_radio(gt, preds, scores)
    face = next(c for c in res.per_class if c.name == "face")
    expected = doc["derived_confusion"]
    assert (face.tp, face.fp, face.fn, face.tn) == (
        expected["tp"],
        expected["fp"],
        expected["fn"],
        expected["tn"],
    )
    assert (face.tp, face.fp, face.fn, face.tn) == (91, 0, 9, 100)
    assert res.accuracy == pytest.approx(0.955)
    assert face.precision == 1.0 and face.recall == pytest.approx(0.91)
    assert face.support == 100
    # all 91 face predictions are right, so precision is 1 at every threshold: AP = final recall
    assert face.average_precision == pytest.approx(0.91)
    nonface = next(c for c in res.per_class if c.name == "non-face")
    assert np.isnan(nonface.average_precision)  # those predictions carry no score
    assert res.confusion_rows[-1] == NONE_LABEL
    i, j = res.classes.index("face"), res.classes.index("non-face")
    assert res.confusion[i, i] == 91 and res.confusion[i, j] == 9 and res.confusion[j, j] == 100
    assert res.confusion[:, -1].sum() == 0 and res.confusion[-1, :].sum() == 0


def test_average_precision_hand_computed() -> None:
    # ranked .8(+) .4(-) .35(+) .1(-): recall steps 0.5 at P=1 and 0.5 at P=2/3
    assert average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(
        0.5 + 0.5 * 2 / 3
    )
    # tied scores form one threshold: P = 0.5 at R = 1
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    # a positive that was never ranked caps recall at 1/2
    assert average_precision([1], [0.9], n_positives=2) == pytest.approx(0.5)
    assert np.isnan(average_precision([0, 0], [0.3, 0.2]))
    with pytest.raises(EvaluationError, match="n_positives"):
        average_precision([1, 1], [0.3, 0.2], n_positives=1)


def test_radio_none_row_and_column_and_averages() -> None:
    gt = {"a": "cat", "b": "cat", "c": "dog", "d": "dog"}
    preds = {"a": "cat", "b": "dog", "c": "dog", "e": "cat"}  # d unanswered, e has no GT
    res = evaluate_radio(gt, preds, classes=["cat", "dog"])
    assert res.confusion_rows == ("cat", "dog", NONE_LABEL)
    np.testing.assert_array_equal(res.confusion, [[1, 1, 0], [0, 1, 1], [1, 0, 0]])
    assert res.n_keys == 5 and res.accuracy == pytest.approx(2 / 5)
    cat, dog = res.per_class
    assert (cat.tp, cat.fp, cat.fn, cat.tn) == (1, 1, 1, 2)
    assert (dog.tp, dog.fp, dog.fn, dog.tn) == (1, 1, 1, 2)
    assert cat.precision == 0.5 and dog.recall == 0.5
    assert res.macro_f1 == pytest.approx(0.5) and res.weighted_f1 == pytest.approx(0.5)
    assert res.micro_precision == pytest.approx(2 / 4)


def test_radio_weighted_differs_from_macro() -> None:
    gt = {1: "a", 2: "a", 3: "a", 4: "b"}
    preds = {1: "a", 2: "a", 3: "a", 4: "a"}
    res = evaluate_radio(gt, preds)
    a, b = res.per_class
    assert (
        a.precision == pytest.approx(0.75)
        and a.recall == 1.0
        and b.precision == 0.0
        and b.recall == 0.0
    )
    assert res.macro_recall == pytest.approx(0.5)
    assert res.weighted_recall == pytest.approx(0.75)
    assert res.weighted_precision == pytest.approx(0.75 * 0.75)


def test_radio_average_precision_per_class() -> None:
    gt = {1: "a", 2: "b", 3: "a", 4: "a"}
    preds = {1: "a", 2: "a", 3: "a", 4: "b"}
    scores = {1: 0.9, 2: 0.8, 3: 0.7, 4: 0.6}
    res = evaluate_radio(gt, preds, scores)
    a, b = res.per_class
    # class a ranks 0.9(+) 0.8(-) 0.7(+) with 3 positives: 1/3 * 1 + 1/3 * 2/3
    assert a.average_precision == pytest.approx(1 / 3 + (1 / 3) * (2 / 3))
    assert b.average_precision == 0.0  # the only b prediction is wrong
    assert res.mean_average_precision == pytest.approx((a.average_precision + 0.0) / 2)


def test_checklist_by_hand() -> None:
    gt = {"f0": {"red", "big"}, "f1": {"red"}, "f2": set()}
    preds = {"f0": ["red"], "f1": ("red", "big"), "f3": ["big"]}
    scores = {"f0": {"red": 0.9}, "f1": {"red": 0.4, "big": 0.8}, "f3": {"big": 0.3}}
    res = evaluate_checklist(gt, preds, scores)
    assert res.classes == ("big", "red") and res.n_keys == 4
    big, red = res.per_class
    assert (red.tp, red.fp, red.fn, red.tn) == (2, 0, 0, 2)
    assert (big.tp, big.fp, big.fn, big.tn) == (0, 2, 1, 1)
    np.testing.assert_array_equal(res.confusion[0], [[1, 2], [1, 0]])
    assert res.accuracy == pytest.approx(1 / 4)  # only f2 (nothing ticked on both sides) is exact
    assert red.average_precision == pytest.approx(1.0) and big.average_precision == 0.0
    assert res.micro_precision == pytest.approx(2 / 4) and res.micro_recall == pytest.approx(2 / 3)


def test_bad_inputs() -> None:
    with pytest.raises(EvaluationError, match="collection"):
        evaluate_checklist({"k": "red"}, {})
    with pytest.raises(EvaluationError, match="not in argument 'classes'"):
        evaluate_radio({"k": "cat"}, {"k": "cow"}, classes=["cat"])
    with pytest.raises(EvaluationError, match=r"gt\['k'\]"):
        evaluate_radio({"k": 3}, {})  # type: ignore[dict-item]
    with pytest.raises(EvaluationError, match="has no prediction"):
        evaluate_radio({"k": "cat"}, {}, scores={"k": 0.5})
