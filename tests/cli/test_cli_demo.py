"""The README's main job, run as a user runs it, checked against pycocotools on the same files."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.services.demo import PREDICTION_BRANCHES, run_demo
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"


def _pycocotools_stats(pred_file: str) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(DATA / "demo_ground_truth.json"))
        dt = gt.loadRes(json.loads((DATA / pred_file).read_text()))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


@pytest.mark.slow
def test_demo_metrics_equal_pycocotools_on_the_same_files(tmp_path: Path) -> None:
    with open_store(tmp_path / "store") as store:
        result = run_demo(store, DATA)
    assert result.data_units == 8
    assert result.ground_truth_objects == 11
    assert [r.branch for r in result.results] == [b for b, _ in PREDICTION_BRANCHES]
    keys = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    for branch_result, (_, pred_file) in zip(result.results, PREDICTION_BRANCHES, strict=True):
        expected = _pycocotools_stats(pred_file)
        got = [branch_result.stats[k] for k in keys]
        assert got == pytest.approx(expected, abs=1e-12), branch_result.branch
        assert branch_result.detections == len(json.loads((DATA / pred_file).read_text()))
        counts = branch_result.outcomes_at_50
        # Every detection is a TP or an FP (no crowd GT here), every GT a TP match or an FN.
        assert counts["tp"] + counts["fp"] == branch_result.detections
        assert counts["tp"] + counts["fn"] == result.ground_truth_objects
    # By eye: Haar finds the astronaut's face only; mediapipe both faces and one person.
    assert result.results[0].outcomes_at_50["tp"] == 1
    assert result.results[1].outcomes_at_50["tp"] == 3


@pytest.mark.slow
def test_demo_command_prints_every_branch_and_refuses_bad_data_dir(tmp_path: Path) -> None:
    runner = CliRunner()
    app = build_app()
    # At the 80 columns a pipe gets, every number must still be printed whole.
    ok = runner.invoke(app, ["demo", "--store", str(tmp_path / "s")], env={"COLUMNS": "80"})
    assert ok.exit_code == 0, ok.output
    assert "…" not in ok.output
    mediapipe = next(line for line in ok.output.splitlines() if "mediapipe-0.10.21 " in line)
    assert mediapipe.split()[1:6] == ["3", "0.235", "0.502", "0.168", "0.233"]
    for branch, _ in PREDICTION_BRANCHES:
        assert branch in ok.output
    assert "face AP" in ok.output
    bad = runner.invoke(app, ["demo", "--store", str(tmp_path / "t"), "--data", str(tmp_path)])
    assert bad.exit_code == 2
    assert not (tmp_path / "t").exists()


@pytest.mark.slow
def test_demo_adds_to_the_store_it_is_given_and_removes_nothing_else(tmp_path: Path) -> None:
    """`--store ~/.predscope` used to erase the folder; now only the demo project is replaced."""
    from predscope.exceptions import ResourceExistsError
    from predscope.sdk.client import Client
    from predscope.services.history import list_history

    store = tmp_path / "users-store"
    with Client(store) as client:
        mine = client.create_project("mine", ontology={"objects": [], "classifications": []})
        mine.add_data([{"title": "kept.jpg", "width": 4, "height": 4}])
    (store / "notes.txt").write_text("keep me")
    app = build_app()
    hashes = []
    for _ in range(2):
        result = CliRunner().invoke(app, ["demo", "--store", str(store)])
        assert result.exit_code == 0, result.output
        with Client(store) as client:
            hashes.append(client.get_project("skimage-demo").project_hash)
    assert (store / "notes.txt").read_text() == "keep me"
    with Client(store) as client:
        assert sorted(p.title for p in client.list_projects()) == ["mine", "skimage-demo"]
        assert [u.data_title for u in client.get_project("mine").list_data_units()] == ["kept.jpg"]
        # The first demo project was removed through the removal path, and its history says so.
        assert client.list_projects()[-1].project_hash == hashes[1] != hashes[0]
        last = list_history(client.store, hashes[0])[-1]
        assert (last.action, last.origin, last.subject) == (
            "remove project",
            "demo",
            "skimage-demo",
        )
    # A project of the user's that merely has the demo's title is left alone.
    other = tmp_path / "other"
    with Client(other) as client:
        client.create_project("skimage-demo", ontology={"objects": [], "classifications": []})
        with pytest.raises(ResourceExistsError, match="not the demo's"):
            run_demo(client.store, DATA)
        assert [p.title for p in client.list_projects()] == ["skimage-demo"]
