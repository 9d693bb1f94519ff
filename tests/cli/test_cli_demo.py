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
