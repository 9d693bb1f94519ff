"""``predscope eval``: the inputs the importer accepts (dataset dict
as detections, string ids), keypoints, ``--pycocotools-compat`` and per-class values, each
checked against pycocotools run live."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from typer.testing import CliRunner

from predscope.cli.app import build_app

DATA = Path(__file__).resolve().parents[2] / "data"
D2 = DATA / "detectron2-coco-mini"
KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _eval(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(build_app(), ["eval", *args, "--json"])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.output)
    return doc


def _reference(gt: dict[str, Any], dt: list[dict[str, Any]], iou_type: str) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dt)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _write(tmp_path: Path, name: str, payload: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(payload))
    return str(path)


def _string_ids(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[Any, Any]:
    gt = copy.deepcopy(gt)
    dt = copy.deepcopy(dt)
    for im in gt["images"]:
        im["id"] = f"img-{im['id']}"
    for c in gt["categories"]:
        c["id"] = f"cat-{c['id']}"
    for a in [*gt["annotations"], *dt]:
        a["image_id"] = f"img-{a['image_id']}"
        a["category_id"] = f"cat-{a['category_id']}"
    return gt, dt


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_dataset_dict_and_string_ids_give_the_results_list_numbers(
    tmp_path: Path, iou_type: str
) -> None:
    gt = json.loads((D2 / "gt_val2017_139_285.json").read_text())
    dt = json.loads((D2 / "dt_maskrcnn_139.json").read_text())
    if iou_type == "segm":
        dt = [{k: v for k, v in d.items() if k != "bbox"} for d in dt]
    ref = _reference(gt, dt, iou_type)
    plain = _eval(
        _write(tmp_path, "gt.json", gt),
        _write(tmp_path, "dt.json", dt),
        "--iou-type",
        iou_type,
    )
    np.testing.assert_allclose([plain["stats"][k] for k in KEYS], ref.stats, rtol=0, atol=1e-12)

    as_dataset = {**gt, "annotations": [{**d, "id": i + 1} for i, d in enumerate(dt)]}
    doc = _eval(
        _write(tmp_path, "gt.json", gt),
        _write(tmp_path, "dt_ds.json", as_dataset),
        "--iou-type",
        iou_type,
    )
    assert doc["stats"] == plain["stats"]

    sgt, sdt = _string_ids(gt, dt)
    doc = _eval(
        _write(tmp_path, "sgt.json", sgt),
        _write(tmp_path, "sdt.json", sdt),
        "--iou-type",
        iou_type,
    )
    assert doc["stats"] == plain["stats"]
    assert {c["category_id"] for c in doc["per_class"]} == {
        f"cat-{c['id']}" for c in gt["categories"]
    }


def test_per_class_values_equal_pycocotools() -> None:
    gt_path = DATA / "coco-val2014-100/instances_val2014_100.json"
    dt_path = DATA / "coco-val2014-100/instances_val2014_fakebbox100_results.json"
    gt, dt = json.loads(gt_path.read_text()), json.loads(dt_path.read_text())
    ref = _reference(gt, dt, "bbox")
    doc = _eval(str(gt_path), str(dt_path), "--per-class")
    cat_ids = list(ref.params.catIds)
    assert [c["category_id"] for c in doc["per_class"]] == cat_ids
    iou = list(np.round(ref.params.iouThrs, 2))
    for k, row in enumerate(doc["per_class"]):
        prec = ref.eval["precision"][:, :, k, 0, -1]
        rec = ref.eval["recall"][:, k, 0, -1]

        def mean(a: np.ndarray) -> float:
            return float(np.mean(a[a > -1])) if (a > -1).any() else -1.0

        assert row["AP"] == pytest.approx(mean(prec), abs=1e-12)
        assert row["AP50"] == pytest.approx(mean(prec[iou.index(0.5)]), abs=1e-12)
        assert row["AP75"] == pytest.approx(mean(prec[iou.index(0.75)]), abs=1e-12)
        assert row["AR100"] == pytest.approx(mean(rec), abs=1e-12)


def _keypoint_case() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = np.random.default_rng(3)
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    dets: list[dict[str, Any]] = []
    for iid in range(1, 6):
        images.append({"id": iid, "width": 200, "height": 200})
        for j in range(2):
            x, y = 20.0 + 80 * j, 30.0
            pts = np.stack([rng.uniform(x, x + 60, 17), rng.uniform(y, y + 120, 17)], axis=1)
            gt_kp = np.concatenate([pts, np.full((17, 1), 2.0)], axis=1)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": iid,
                    "category_id": 1,
                    "bbox": [x, y, 60.0, 120.0],
                    "area": 5000.0,
                    "iscrowd": 0,
                    "num_keypoints": 17,
                    "keypoints": [round(float(v), 2) for v in gt_kp.ravel()],
                }
            )
            noisy = pts + rng.normal(0, 4 + 6 * j, pts.shape)
            dt_kp = np.concatenate([noisy, np.ones((17, 1))], axis=1)
            dets.append(
                {
                    "image_id": iid,
                    "category_id": 1,
                    "keypoints": [round(float(v), 2) for v in dt_kp.ravel()],
                    "score": round(float(rng.uniform(0.1, 1.0)), 3),
                }
            )
    gt = {
        "images": images,
        "categories": [{"id": 1, "name": "person", "keypoints": [f"k{i}" for i in range(17)]}],
        "annotations": anns,
    }
    return gt, dets


def test_keypoints_through_the_cli(tmp_path: Path) -> None:
    gt, dt = _keypoint_case()
    ref = _reference(gt, dt, "keypoints")
    doc = _eval(
        _write(tmp_path, "gt.json", gt),
        _write(tmp_path, "dt.json", dt),
        "--iou-type",
        "keypoints",
    )
    # Keypoints report 10 stats in pycocotools (no small area range); compare those it has.
    values = [v for v in doc["stats"].values()]
    assert len(values) == len(ref.stats)
    np.testing.assert_allclose(values, ref.stats, rtol=0, atol=1e-12)
    assert 0.0 < ref.stats[0] < 1.0


def test_pycocotools_compat_flag_reproduces_the_id_zero_quirk(tmp_path: Path) -> None:
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": 0,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 20, 20],
                "area": 400,
                "iscrowd": 0,
            },
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [50, 50, 20, 20],
                "area": 400,
                "iscrowd": 0,
            },
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 20, 20], "score": 0.8},
    ]
    paths = (_write(tmp_path, "gt.json", gt), _write(tmp_path, "dt.json", dt))
    ref = _reference(gt, dt, "bbox")
    compat = _eval(*paths, "--pycocotools-compat")
    np.testing.assert_allclose([compat["stats"][k] for k in KEYS], ref.stats, rtol=0, atol=1e-12)
    assert compat["pycocotools_compat"] is True
    default = _eval(*paths)
    # Both GT are found exactly, so counting the id-0 match gives perfect AP and AR.
    assert default["stats"]["AP"] == pytest.approx(1.0, abs=1e-12)
    assert default["stats"]["AR100"] == 1.0
    assert compat["stats"]["AR100"] < 1.0
