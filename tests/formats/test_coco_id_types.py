"""A COCO file that writes an id as a number in one place and as a string in another ("2299" and
2299) is read as one id, with a warning naming both places; evaluation equals pycocotools on
the same file with consistent ids."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from predscope.exceptions import IdTypeWarning, ImportFormatError
from tests.evaluation._coco_eval_helpers import make_case, run_ours, run_pycocotools


def _case() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt, dt = make_case(2, n_img=8)
    return gt, dt


def test_image_id_as_string_in_images_and_number_in_annotations() -> None:
    gt, dt = _case()
    ref = run_pycocotools(gt, dt)
    mixed = copy.deepcopy(gt)
    iid = mixed["images"][2]["id"]
    mixed["images"][2]["id"] = str(iid)  # the real case: images[...].id "2299", annotations 2299
    first = next(i for i, a in enumerate(mixed["annotations"]) if a["image_id"] == iid)
    with pytest.warns(IdTypeWarning) as caught:
        ours = run_ours(mixed, dt)
    text = " ".join(str(w.message) for w in caught)
    assert "images[2].id" in text and f"annotations[{first}].image_id" in text
    assert f"'{iid}'" in text
    np.testing.assert_allclose(ours.stats_list, ref.stats, rtol=0, atol=1e-12)


def test_category_and_result_ids_as_strings() -> None:
    gt, dt = _case()
    ref = run_pycocotools(gt, dt)
    mixed = copy.deepcopy(gt)
    cid = mixed["categories"][0]["id"]
    for ann in mixed["annotations"]:
        if ann["category_id"] == cid:
            ann["category_id"] = str(cid)
    results = copy.deepcopy(dt)
    for det in results:
        det["image_id"] = str(det["image_id"])
    with pytest.warns(IdTypeWarning) as caught:
        ours = run_ours(mixed, results)
    text = " ".join(str(w.message) for w in caught)
    assert "categories[0].id is a number" in text
    assert "dt.json: [0].image_id is a string" in text
    np.testing.assert_allclose(ours.stats_list, ref.stats, rtol=0, atol=1e-12)


def test_mixed_types_inside_the_image_list_sort_as_numbers() -> None:
    gt, dt = _case()
    ref = run_pycocotools(gt, dt)
    mixed = copy.deepcopy(gt)
    for k in (0, 3):
        iid = mixed["images"][k]["id"]
        mixed["images"][k]["id"] = str(iid)
        for ann in mixed["annotations"]:
            if ann["image_id"] == iid:
                ann["image_id"] = str(iid)
    with pytest.warns(IdTypeWarning) as caught:
        ours = run_ours(mixed, dt)
    assert any("images[0].id is the string" in str(w.message) for w in caught)
    # image order (ties broken by ascending id) is the numeric order, as with int ids
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-12)


def test_non_numeric_strings_and_collisions_are_still_refused() -> None:
    gt, dt = _case()
    bad = copy.deepcopy(gt)
    bad["images"][0]["id"] = "seven"
    with pytest.raises(ImportFormatError, match="mixes integer and string ids"):
        run_ours(bad, dt)
    clash = copy.deepcopy(gt)
    clash["images"][1]["id"] = str(clash["images"][0]["id"])
    with pytest.raises(ImportFormatError, match=r"images\[1\]\.id.*same id as images\[0\]\.id"):
        run_ours(clash, dt)
