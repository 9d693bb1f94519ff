"""``evaluate_branch`` on coco-val2014-100 imported into the store equals pycocotools run live."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.evaluation.results import Outcome
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.evaluate import STAT_KEYS, BranchEvaluation, evaluate_branch
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord

DATA = Path(__file__).resolve().parents[3] / "data" / "coco-val2014-100"
GT = DATA / "instances_val2014_100.json"
BBOX = DATA / "instances_val2014_fakebbox100_results.json"
SEGM = DATA / "instances_val2014_fakesegm100_results.json"


def coco_project(store: Store, title: str, shape: str, results: Path) -> ProjectRecord:
    """Data units registered by title and size in image-id order; GT on main, results on 'model'."""
    gt = json.loads(GT.read_text(encoding="utf-8"))
    objects = [
        {
            "id": str(i + 1),
            "name": c["name"],
            "color": "#3366FF",
            "shape": shape,
            "featureNodeHash": f"cat{c['id']:05d}",
        }
        for i, c in enumerate(sorted(gt["categories"], key=lambda c: c["id"]))
    ]
    project = create_project(store, title, {"objects": objects, "classifications": []})
    images = sorted(gt["images"], key=lambda im: im["id"])
    add_data(
        store,
        project,
        [{"title": im["file_name"], "width": im["width"], "height": im["height"]} for im in images],
    )
    import_coco(store, project, GT, ImportOptions(branch="main", ground_truth=True))
    import_coco(store, project, results, ImportOptions(branch="model"), gt_path=GT)
    return project


def live(results: Path, iou_type: str) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(GT))
        dt = gt.loadRes(str(results))
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_parity(result: BranchEvaluation, ref: COCOeval) -> None:
    ours = result.evaluation
    assert tuple(ours.stats) == STAT_KEYS
    np.testing.assert_allclose(ours.stats_list, ref.stats, rtol=0, atol=1e-12)
    # Ontology order = ascending category id here, so the K axis lines up with pycocotools'.
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ref.eval["recall"], rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def segm_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, ProjectRecord]]:
    store = open_store(str(tmp_path_factory.mktemp("segm")))
    yield store, coco_project(store, "coco-segm", "bitmask", SEGM)
    store.close()


def test_bbox_branch_equals_pycocotools_on_both_stores(store_url: str) -> None:
    store = open_store(store_url)
    try:
        project = coco_project(store, "coco-bbox", "bounding_box", BBOX)
        result = evaluate_branch(store, project, "model", iou_type="bbox")
    finally:
        store.close()
    assert len(result.images) == 100
    assert result.ground_truth.num_annotations == 839
    assert result.detections.num_detections == 734
    assert_parity(result, live(BBOX, "bbox"))


def test_segm_branch_equals_pycocotools(segm_store: tuple[Store, ProjectRecord]) -> None:
    store, project = segm_store
    result = evaluate_branch(store, project.title, "model", iou_type="segm")
    assert result.ground_truth.masks is not None and result.detections.masks is not None
    assert int(result.ground_truth.iscrowd.sum()) > 0  # crowd RLE regions kept as ignore
    assert_parity(result, live(SEGM, "segm"))


def _pycocotools_tp_at_50(ref: COCOeval) -> int:
    tp = 0
    for entry in ref.evalImgs:
        if entry is None or entry["aRng"] != [0, 1e10]:
            continue
        matched = (entry["dtMatches"][0] > 0) & ~entry["dtIgnore"][0].astype(bool)
        tp += int(matched.sum())
    return tp


def test_outcomes_join_back_to_stored_objects(segm_store: tuple[Store, ProjectRecord]) -> None:
    store, project = segm_store
    result = evaluate_branch(store, project, "model", iou_type="segm")
    rows = result.detection_outcomes(0.5)
    assert sum(r["outcome"] == "TP" for r in rows) == _pycocotools_tp_at_50(live(SEGM, "segm"))

    ontology = OntologyStructure.from_dict(project.ontology)
    stored: dict[str, tuple[str, float]] = {}
    gt_hashes: set[str] = set()
    for branch, sink in (("model", stored), ("main", None)):
        for row in list_label_rows(store, project, ontology, branch_name=branch):
            if row.label_hash is None:
                continue
            row.initialise_labels()
            for obj in row.get_object_instances():
                if sink is None:
                    gt_hashes.add(obj.object_hash)
                else:
                    sink[obj.object_hash] = (row.data_hash, obj.get_annotation(0).confidence)
    assert {r["object_hash"] for r in rows} == set(stored)
    for r in rows:
        data_hash, confidence = stored[r["object_hash"]]
        assert (r["data_hash"], r["frame"], r["score"]) == (data_hash, 0, confidence)
        if r["outcome"] == "TP":
            assert r["matched_object_hash"] in gt_hashes and r["iou"] >= 0.5
    missed = result.missed_ground_truth(0.5)
    assert set(missed) <= gt_hashes
    outcomes = result.evaluation.outcomes
    assert len(missed) == int(outcomes.gt_missed[0].sum())
    assert Outcome.TP in set(outcomes.outcome[0].tolist())


def _stored_area(store: Store, project: ProjectRecord) -> Any:
    from predscope.services.analysis.evaluate import branch_inputs

    return branch_inputs(store, project, "main", iou_type="segm")


def test_ground_truth_keeps_coco_area_and_crowd(segm_store: tuple[Store, ProjectRecord]) -> None:
    store, project = segm_store
    gt_inputs = _stored_area(store, project)
    raw = json.loads(GT.read_text(encoding="utf-8"))
    by_image = sorted(raw["annotations"], key=lambda a: a["image_id"])  # stable: file order kept
    np.testing.assert_array_equal(gt_inputs.area, [a["area"] for a in by_image])
    np.testing.assert_array_equal(gt_inputs.iscrowd, [bool(a["iscrowd"]) for a in by_image])
    np.testing.assert_array_equal(gt_inputs.bbox, [a["bbox"] for a in by_image])
