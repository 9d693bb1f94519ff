"""``predscope analyse``: the summary, the per-class table and JSON for a stored branch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.exceptions import ResourceNotFoundError
from predscope.services.imports.options import ImportOptions

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"
KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(build_app(), list(args))


@pytest.fixture(scope="module")
def location(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Project 'demo': ground truth on main, the OpenCV and RapidOCR predictions as branches."""
    from predscope.services.imports.coco import import_coco
    from predscope.services.projects import add_data, create_project
    from predscope.store.engine import open_store

    folder = str(tmp_path_factory.mktemp("store"))
    store = open_store(folder)
    try:
        ontology = json.loads((DATA / "demo_ontology.json").read_text(encoding="utf-8"))
        project = create_project(store, "demo", ontology)
        images = json.loads((DATA / "images_coco.json").read_text(encoding="utf-8"))["images"]
        add_data(
            store,
            project,
            [
                {"title": im["file_name"], "width": im["width"], "height": im["height"]}
                for im in images
            ],
        )
        import_coco(
            store,
            project,
            DATA / "demo_ground_truth.json",
            ImportOptions(branch="main", ground_truth=True),
        )
        for branch, name in (
            ("haar", "pred_opencv_haar_hog.json"),
            ("ocr", "pred_rapidocr_1.4.4.json"),
        ):
            import_coco(
                store,
                project,
                DATA / name,
                ImportOptions(branch=branch),
                gt_path=DATA / "images_coco.json",
            )
    finally:
        store.close()
    return folder


def expected(location: str, branch: str, iou_type: str = "bbox") -> Any:
    from predscope.services.analysis.evaluate import evaluate_branch
    from predscope.store.engine import open_store

    store = open_store(location)
    try:
        return evaluate_branch(store, "demo", branch, iou_type=iou_type)
    finally:
        store.close()


def test_text_summary_and_per_class(location: str) -> None:
    result = run(
        "analyse",
        "demo",
        "--branch",
        "haar",
        "--iou-type",
        "bbox",
        "--per-class",
        "--store",
        location,
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    summary = [ln for ln in lines if ln.startswith(" Average")]
    assert len(summary) == 12
    stats = expected(location, "haar").evaluation.stats
    printed = [float(ln.rsplit("=", 1)[1]) for ln in summary]
    assert printed == [round(v, 3) for v in stats.values()]
    assert "'haar' against 'main' (bbox): 8 images, 11 ground-truth objects, 10 predictions" in (
        result.output
    )
    assert "up to date; review: needs_review" in result.output
    table = [ln for ln in lines if ln.split("│")[1:2] and ln.split("│")[1].strip() == "face"]
    assert len(table) == 1  # the per-class table has a 'face' row


def test_json_output(location: str) -> None:
    result = run(
        "analyse", "demo", "--branch", "ocr", "--iou-type", "bbox", "--json", "--store", location
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data["stats"]) == KEYS
    ref = expected(location, "ocr")
    assert data["stats"] == {k: float(v) for k, v in ref.evaluation.stats.items()}
    assert [row["name"] for row in data["per_class"]] == ["face", "person", "text"]
    text = data["classes"][2]
    assert (text["num_gt"], text["num_predictions"]) == (7, 6)
    assert data["per_class"][2]["AP"] == text["AP"] == ref.evaluation.per_class[2].ap
    assert data["predictions"] == 6 and data["branch"] == "ocr" and data["against"] == "main"
    assert data["run"]["status"] == "complete" and data["freshness"]["fresh"]


def test_segm_and_gt_branch_options(location: str) -> None:
    result = run(
        "analyse",
        "demo",
        "--branch",
        "ocr",
        "--gt-branch",
        "main",
        "--iou-type",
        "segm",
        "--json",
        "--store",
        location,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["iou_type"] == "segm"
    assert data["stats"] == {
        k: float(v) for k, v in expected(location, "ocr", "segm").evaluation.stats.items()
    }


def test_auto_measures_each_class_by_its_shape(location: str) -> None:
    """The demo's face and person are boxes, text is a polygon: by default (auto) the boxes are
    measured by box IoU and the text by mask IoU, and the summary averages all three classes."""
    from predscope.evaluation.params import CocoParams
    from predscope.evaluation.summary import summarize

    result = run("analyse", "demo", "--branch", "ocr", "--per-class", "--store", location)
    assert result.exit_code == 0, result.output
    assert "'ocr' against 'main' (mixed)" in result.output
    data = json.loads(
        run("metrics", "demo", "--branch", "ocr", "--json", "--store", location).output
    )
    assert data["iou_type"] == "mixed" and data["run"]["params"]["iou_type"] == "auto"
    assert [c["metric"] for c in data["classes"]] == ["bbox", "bbox", "segm"]
    boxes, masks = expected(location, "ocr", "bbox"), expected(location, "ocr", "segm")
    want = [boxes.evaluation.per_class[0], boxes.evaluation.per_class[1]]
    want.append(masks.evaluation.per_class[2])
    assert [r["AP"] for r in data["per_class"]] == [c.ap for c in want]
    assert [r["AR100"] for r in data["per_class"]] == [c.ar for c in want]
    precision = np.concatenate(
        [boxes.evaluation.precision[:, :, :2], masks.evaluation.precision[:, :, 2:]], axis=2
    )
    recall = np.concatenate(
        [boxes.evaluation.recall[:, :2], masks.evaluation.recall[:, 2:]], axis=1
    )
    assert data["stats"] == summarize(CocoParams(), precision, recall)


def test_unknown_branch_is_a_clear_error(location: str) -> None:
    result = run("analyse", "demo", "--branch", "nope", "--store", location)
    assert isinstance(result.exception, ResourceNotFoundError)
    assert "no rows on branch 'nope'; its branches are:" in str(result.exception)
    bad = run("analyse", "demo", "--branch", "haar", "--iou-type", "keypoints", "--store", location)
    assert bad.exit_code == 2  # usage error: not a choice


def test_metrics_prints_what_analyse_stored(location: str) -> None:
    stored = json.loads(
        run("analyse", "demo", "--branch", "haar", "--json", "--store", location).output
    )
    again = run("metrics", "demo", "--branch", "haar", "--json", "--store", location)
    assert again.exit_code == 0, again.output
    doc = json.loads(again.output)
    assert doc["stats"] == stored["stats"] and doc["run"]["id"] == stored["run"]["id"]
    text = run("metrics", "demo", "--branch", "haar", "--per-class", "--store", location)
    assert text.exit_code == 0 and "Average Precision" in text.output and "face" in text.output
    missing = run("metrics", "demo", "--branch", "nope", "--store", location)
    assert isinstance(missing.exception, ResourceNotFoundError)
    assert "no complete analysis" in str(missing.exception)


def test_sets_lists_and_sets_review_status(location: str) -> None:
    assert run("analyse", "demo", "--branch", "ocr", "--store", location).exit_code == 0
    changed = run(
        "sets",
        "demo",
        "--branch",
        "ocr",
        "--status",
        "reviewed",
        "--notes",
        "ok",
        "--json",
        "--store",
        location,
    )
    assert changed.exit_code == 0, changed.output
    [entry] = json.loads(changed.output)
    assert (entry["review_status"], entry["notes"]) == ("reviewed", "ok")
    listing = run("sets", "demo", "--store", location)
    assert listing.exit_code == 0 and "ocr" in listing.output and "reviewed" in listing.output
    bad = run("sets", "demo", "--status", "reviewed", "--store", location)
    assert "name it with --branch" in str(bad.exception)
    wrong = run("sets", "demo", "--branch", "ocr", "--status", "finished", "--store", location)
    assert "not one of needs_review" in str(wrong.exception)
