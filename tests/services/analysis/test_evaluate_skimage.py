"""The skimage demo: hand-drawn ground truth on main, three real detectors as branches.

Each branch, read back from the store, must evaluate as pycocotools does on the original files
(scores outside 0..1, polygons, an RLE person mask stored as a box, images matched by name).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord

DATA = Path(__file__).resolve().parents[3] / "data" / "skimage-images"
GT = DATA / "demo_ground_truth.json"
BRANCHES = {
    "haar": DATA / "pred_opencv_haar_hog.json",
    "mediapipe": DATA / "pred_mediapipe_0.10.21.json",
    "rapidocr": DATA / "pred_rapidocr_1.4.4.json",
}


def skimage_project(store: Store) -> ProjectRecord:
    ontology = json.loads((DATA / "demo_ontology.json").read_text(encoding="utf-8"))
    project = create_project(store, "skimage", ontology)
    images = json.loads((DATA / "images_coco.json").read_text(encoding="utf-8"))["images"]
    add_data(
        store,
        project,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in sorted(images, key=lambda im: im["id"])
        ],
    )
    import_coco(store, project, GT, ImportOptions(branch="main", ground_truth=True))
    for branch, path in BRANCHES.items():
        import_coco(
            store, project, path, ImportOptions(branch=branch), gt_path=DATA / "images_coco.json"
        )
    return project


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, ProjectRecord]]:
    store = open_store(str(tmp_path_factory.mktemp("skimage")))
    yield store, skimage_project(store)
    store.close()


def live_stats(results: Path) -> list[float]:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(GT))
        ev = COCOeval(gt, gt.loadRes(str(results)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


@pytest.mark.parametrize("branch", sorted(BRANCHES))
def test_demo_branch_equals_pycocotools(demo: tuple[Store, ProjectRecord], branch: str) -> None:
    store, project = demo
    result = evaluate_branch(store, project, branch, iou_type="bbox")
    assert result.category_names == ("face", "person", "text")
    assert result.detections.num_detections == len(json.loads(BRANCHES[branch].read_text()))
    np.testing.assert_allclose(
        result.evaluation.stats_list, live_stats(BRANCHES[branch]), rtol=0, atol=1e-12
    )


def test_scores_outside_unit_interval_survive(demo: tuple[Store, ProjectRecord]) -> None:
    store, project = demo
    result = evaluate_branch(store, project, "haar")
    raw = json.loads(BRANCHES["haar"].read_text(encoding="utf-8"))
    assert sorted(result.detections.score.tolist()) == sorted(a["score"] for a in raw)
    assert result.detections.score.max() > 7.0


def test_text_polygons_evaluate_as_masks(demo: tuple[Store, ProjectRecord]) -> None:
    """segm on a box + polygon ontology: boxes become their polygon, as loadRes does."""
    store, project = demo
    result = evaluate_branch(store, project, "rapidocr", iou_type="segm")
    text = next(c for c in result.evaluation.per_class if c.name == "text")
    assert text.num_gt == 7 and text.num_detections == 6
    assert 0.0 < text.ap50 <= 1.0
    faces = next(c for c in result.evaluation.per_class if c.name == "face")
    assert faces.num_detections == 0 and faces.ap == 0.0  # GT faces, no face predictions
