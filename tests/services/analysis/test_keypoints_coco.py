"""A COCO person-keypoints case onboarded into the store and analysed: the stored run equals
``predscope eval --iou-type keypoints`` on the same files bit for bit, and pycocotools to 1e-12.

The project comes from ``create_project_from_coco`` (the person category becomes a skeleton with
COCO's 17 nodes as its template, so COCO's sigmas apply) and the results from ``import_coco``.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.params import CocoParams
from predscope.formats.coco import load_coco_pair
from predscope.services.analysis.kinds import COCO_KEYPOINT_NAMES
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.services.imports.coco import import_coco
from predscope.services.imports.onboard import create_project_from_coco
from predscope.services.imports.options import ImportOptions
from predscope.store.engine import Store, open_store

W, H = 320, 240


def _write_case(folder: Path, images: int = 30, seed: int = 3) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    ims, anns, dets = [], [], []
    for img in range(1, images + 1):
        ims.append({"id": img, "file_name": f"{img:04d}.jpg", "width": W, "height": H})
        for _ in range(int(rng.integers(0, 4))):
            cx, cy, scale = rng.uniform(60, W - 60), rng.uniform(60, H - 60), rng.uniform(15, 50)
            points = [
                (
                    round(float(cx + rng.uniform(-1, 1) * scale), 2),
                    round(float(cy + rng.uniform(-1, 1) * scale), 2),
                )
                for _ in COCO_KEYPOINT_NAMES
            ]
            v = [int(rng.choice([0, 1, 2, 2, 2])) for _ in points]
            v[0] = 2
            flat = [
                c
                for (x, y), vis in zip(points, v, strict=True)
                for c in ((x, y, vis) if vis else (0, 0, 0))
            ]
            xs = [x for (x, _), vis in zip(points, v, strict=True) if vis]
            ys = [y for (_, y), vis in zip(points, v, strict=True) if vis]
            box = [min(xs) - 5, min(ys) - 5, max(xs) - min(xs) + 10, max(ys) - min(ys) + 10]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img,
                    "category_id": 1,
                    "bbox": [round(b, 2) for b in box],
                    "area": round(box[2] * box[3] * 0.6, 2),
                    "iscrowd": 0,
                    "keypoints": flat,
                    "num_keypoints": sum(1 for vis in v if vis),
                }
            )
            if rng.random() < 0.85:
                noisy = [
                    c
                    for x, y in points
                    for c in (
                        round(float(x + rng.normal(0, 3)), 2),
                        round(float(y + rng.normal(0, 3)), 2),
                        1,
                    )
                ]
                dets.append(
                    {
                        "image_id": img,
                        "category_id": 1,
                        "keypoints": noisy,
                        "score": float(rng.uniform(0.3, 1)),
                    }
                )
        if rng.random() < 0.5:  # a false positive
            cx, cy = rng.uniform(60, W - 60), rng.uniform(60, H - 60)
            fake = [
                c
                for _ in COCO_KEYPOINT_NAMES
                for c in (
                    round(float(cx + rng.uniform(-30, 30)), 2),
                    round(float(cy + rng.uniform(-30, 30)), 2),
                    1,
                )
            ]
            dets.append(
                {
                    "image_id": img,
                    "category_id": 1,
                    "keypoints": fake,
                    "score": float(rng.uniform(0, 0.5)),
                }
            )
    cat = {
        "id": 1,
        "name": "person",
        "keypoints": list(COCO_KEYPOINT_NAMES),
        "skeleton": [[1, 2], [1, 3]],
    }
    folder.mkdir(parents=True, exist_ok=True)
    gt_path, dt_path = folder / "person_keypoints.json", folder / "results.json"
    gt_path.write_text(json.dumps({"images": ims, "annotations": anns, "categories": [cat]}))
    dt_path.write_text(json.dumps(dets))
    return gt_path, dt_path


@pytest.fixture
def store(store_url: str) -> Store:
    opened = open_store(store_url)
    yield opened  # type: ignore[misc]
    opened.close()


def test_stored_keypoint_run_equals_predscope_eval_and_pycocotools(
    store: Store, tmp_path: Path
) -> None:
    gt_path, dt_path = _write_case(tmp_path / "case")
    report = create_project_from_coco(store, "people", gt_path)
    assert report.objects == [("person", "skeleton")]
    import_coco(store, report.project, dt_path, ImportOptions(branch="model"), gt_path=gt_path)
    analyse(store, report.project, "model")
    doc = get_metrics(store, report.project, "model")
    assert doc["iou_type"] == "keypoints"
    gt, dt = load_coco_pair(str(gt_path), str(dt_path), "keypoints")
    ref = evaluate_coco(gt, dt, CocoParams.default("keypoints"))
    assert doc["stats"] == ref.stats  # what `predscope eval --iou-type keypoints` prints
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt_path))
        ev = COCOeval(coco, coco.loadRes(str(dt_path)), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    np.testing.assert_allclose(list(doc["stats"].values()), ev.stats, atol=1e-12, rtol=0)
    assert 0.05 < doc["stats"]["AP"] < 0.95
    assert doc["per_class"][0]["AP"] == ref.per_class[0].ap
