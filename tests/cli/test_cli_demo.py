"""The README's main job, run as a user runs it: every branch analysed and stored, the numbers
equal to pycocotools on the same files, the store served, and the generated project at size."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from predscope.cli.app import build_app
from predscope.services.demo import GROUND_TRUTH_FILE, PREDICTION_BRANCHES, run_demo
from predscope.store.engine import open_store

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "skimage-images"
KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def _pycocotools_stats(pred_file: str) -> list[float]:
    """pycocotools on the same files, each class by its ontology shape's metric (the demo's
    'text' is a polygon class, measured by mask IoU; every other class is a box), joined over
    the classes as one category set, as ``analyse`` (iou_type auto) averages them."""
    import numpy as np
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from predscope.evaluation.params import CocoParams
    from predscope.evaluation.summary import summarize

    parts = []
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(DATA / GROUND_TRUTH_FILE))
        text = [c["id"] for c in gt.dataset["categories"] if c["name"] == "text"]
        boxes = [c for c in sorted(gt.getCatIds()) if c not in text]
        for iou_type, cat_ids in (("bbox", boxes), ("segm", text)):
            dt = gt.loadRes(json.loads((DATA / pred_file).read_text()))
            ev = COCOeval(gt, dt, iou_type)
            ev.params.catIds = cat_ids
            ev.evaluate()
            ev.accumulate()
            parts.append(ev.eval)
    precision = np.concatenate([e["precision"] for e in parts], axis=2)
    recall = np.concatenate([e["recall"] for e in parts], axis=1)
    return list(summarize(CocoParams(), precision, recall).values())


def _metrics_json(store: Path, project: str, branch: str) -> dict[str, object]:
    out = CliRunner().invoke(
        build_app(), ["metrics", project, "--branch", branch, "--json", "--store", str(store)]
    )
    assert out.exit_code == 0, out.output
    doc: dict[str, object] = json.loads(out.stdout)
    return doc


def test_shipped_ground_truth_has_the_objects_source_md_lists() -> None:
    doc = json.loads((DATA / GROUND_TRUTH_FILE).read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    counts = Counter(names[a["category_id"]] for a in doc["annotations"])
    assert sum(counts.values()) >= 40
    assert counts["coin"] == 24 and counts["text"] == 7 and counts["face"] == 2
    assert {"person", "cat", "cup", "rocket"} <= set(counts)
    sizes = {i["id"]: (i["width"], i["height"]) for i in doc["images"]}
    for ann in doc["annotations"]:
        x, y, w, h = ann["bbox"]
        width, height = sizes[ann["image_id"]]
        assert min(x, y) >= 0 and w > 0 and h > 0, ann
        assert x + w <= width and y + h <= height, ann
    source = (DATA / "SOURCE.md").read_text()
    assert GROUND_TRUTH_FILE in source and f"{sum(counts.values())} objects" in source


@pytest.mark.slow
def test_demo_analyses_every_branch_and_stores_what_metrics_prints(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    with open_store(store_dir) as store:
        result = run_demo(store, DATA)
    assert result.data_units == 8
    assert result.ground_truth_objects == 48
    assert [r.branch for r in result.results] == [b for b, _ in PREDICTION_BRANCHES]
    for branch_result, (branch, pred_file) in zip(result.results, PREDICTION_BRANCHES, strict=True):
        # The stored run's numbers equal pycocotools' on the same files ...
        expected = _pycocotools_stats(pred_file)
        assert [branch_result.stats[k] for k in KEYS] == pytest.approx(expected, abs=1e-12)
        assert branch_result.detections == len(json.loads((DATA / pred_file).read_text()))
        counts = branch_result.outcomes_at_50
        # Every detection is a TP or an FP (no crowd GT here), every GT a TP match or an FN.
        assert counts["tp"] + counts["fp"] == branch_result.detections
        assert counts["tp"] + counts["fn"] == result.ground_truth_objects
        # ... and are what `predscope metrics` reads back from the store.
        doc = _metrics_json(store_dir, "skimage-demo", branch)
        assert doc["stats"] == branch_result.stats
        assert doc["run"]["id"] == branch_result.run_id  # type: ignore[index]
        assert doc["run"]["status"] == "complete"  # type: ignore[index]
        assert doc["ground_truth"] == 48
    # By eye: Haar finds the astronaut's face only; mediapipe both faces and one person;
    # rapidocr five of the page's seven text lines.
    assert [r.outcomes_at_50["tp"] for r in result.results] == [1, 3, 5]


@pytest.mark.slow
def test_demo_command_prints_every_branch_and_refuses_bad_data_dir(tmp_path: Path) -> None:
    runner = CliRunner()
    app = build_app()
    # At the 80 columns a pipe gets, every number must still be printed whole.
    store = tmp_path / "s"
    ok = runner.invoke(app, ["demo", "--no-serve", "--store", str(store)], env={"COLUMNS": "80"})
    assert ok.exit_code == 0, ok.output
    assert "…" not in ok.output
    mediapipe = next(line for line in ok.output.splitlines() if "mediapipe-0.10.21 " in line)
    assert mediapipe.split()[1:9] == ["3", "0.066", "0.116", "0.039", "0.065", "3", "0", "45"]
    for branch, _ in PREDICTION_BRANCHES:
        assert f"analysed {branch!r}" in ok.output
        # Stored: `predscope metrics` reads the run the demo made, with the numbers it printed.
        doc = _metrics_json(store, "skimage-demo", branch)
        row = next(line for line in ok.output.splitlines() if line.startswith(f" {branch} "))
        stats = doc["stats"]
        assert isinstance(stats, dict)
        assert row.split()[2:4] == [f"{stats['AP']:.3f}", f"{stats['AP50']:.3f}"]
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


def _lines(stream: io.BufferedReader, out: queue.Queue[str]) -> None:
    for raw in iter(stream.readline, b""):
        out.put(raw.decode(errors="replace"))


@pytest.mark.slow
def test_demo_serve_prints_a_url_that_answers(tmp_path: Path) -> None:
    """`scripts/demo` is `predscope demo --serve`: build, analyse, then serve the demo store."""
    assert 'exec .venv/bin/predscope demo --serve "$@"' in (ROOT / "scripts" / "demo").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDSCOPE_")}
    command = [sys.executable, "-m", "predscope", "demo", "--serve", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--store", str(tmp_path / "store")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=0.5)
                seen.append(line)
                if "serving the demo at http://127.0.0.1:" in line:
                    url = line.split(" at ", 1)[1].split()[0]
        assert url is not None, "".join(seen)
        assert url.endswith("/") and not url.endswith(":0/")
        assert httpx.get(f"{url}api/health", timeout=30).json()["status"] == "ok"
        projects = httpx.get(f"{url}api/projects", timeout=30).json()["items"]
        assert [p["title"] for p in projects] == ["skimage-demo"]
        assert projects[0]["branches"] == sorted(["main", *(b for b, _ in PREDICTION_BRANCHES)])
        sets = httpx.get(f"{url}api/projects/skimage-demo/prediction-sets", timeout=30).json()
        items = sets["items"] if isinstance(sets, dict) else sets
        assert sorted(s["branch"] for s in items) == sorted(b for b, _ in PREDICTION_BRANCHES)
        assert all(s["metrics"] is not None for s in items)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_demo_scale_builds_and_analyses_a_generated_project(tmp_path: Path) -> None:
    from predscope.services.analysis.metrics import get_metrics, list_prediction_sets
    from predscope.services.demo_scale import DETECTORS
    from predscope.services.projects import get_project, list_data_units

    store_dir = tmp_path / "store"
    app = build_app()
    for _ in range(2):  # a second run replaces the generated project, and only it
        out = CliRunner().invoke(app, ["demo", "--scale", "50", "--store", str(store_dir)])
        assert out.exit_code == 0, out.output
    with open_store(store_dir) as store:
        project = get_project(store, "scale-demo-50")
        assert len(list_data_units(store, project)) == 50
        sets = list_prediction_sets(store, project)
        assert sorted(s["branch"] for s in sets) == sorted(d.branch for d in DETECTORS)
        aps = {}
        for entry in sets:
            doc = get_metrics(store, project, entry["branch"])
            assert doc["images"] == 50 and doc["ground_truth"] > 0
            assert doc == _metrics_json(store_dir, "scale-demo-50", entry["branch"])
            aps[entry["branch"]] = doc["stats"]["AP"]
            errors = doc["errors"]["counts"]
            # Every kind of error the generator makes shows up as its TIDE type.
            for kind in ("localisation", "classification", "duplicate", "background", "missed"):
                assert errors[kind] > 0, (entry["branch"], kind, errors)
        # The better detector scores better.
        assert aps["detector-large"] > aps["detector-small"] > aps["detector-legacy"]
    bad = CliRunner().invoke(app, ["demo", "--scale", "0", "--store", str(tmp_path / "x")])
    assert bad.exit_code == 2


def test_demo_serve_refuses_before_any_work(tmp_path: Path) -> None:
    """A taken port or a non-loopback address without a token: refused, nothing built."""
    import socket

    from predscope.sdk.client import Client

    app = build_app()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        busy = CliRunner().invoke(
            app, ["demo", "--serve", "--port", port, "--store", str(tmp_path / "a")]
        )
    assert busy.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in str(busy.exception)
    assert "created project" not in busy.output
    open_host = CliRunner().invoke(
        app, ["demo", "--serve", "--host", "0.0.0.0", "--port", "0", "--store", str(tmp_path / "b")]
    )
    assert open_host.exit_code == 1
    assert "needs a token" in str(open_host.exception)
    for name in ("a", "b"):
        with Client(tmp_path / name) as client:
            assert client.list_projects() == []
