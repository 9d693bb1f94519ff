"""The generated demo project: deterministic files, boxes inside their images, the errors it
promises, and the same build and analysis on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from predscope.exceptions import InvalidArgumentsError, ResourceExistsError
from predscope.services.analysis.metrics import get_metrics
from predscope.services.demo import run_demo
from predscope.services.demo_scale import (
    CLASSES,
    DETECTORS,
    SCALE_DESCRIPTION,
    run_scale_demo,
    write_case,
)
from predscope.services.projects import create_project, list_data_units, list_projects
from predscope.store.engine import open_store

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"


def test_generated_case_is_deterministic_and_well_formed(tmp_path: Path) -> None:
    files = []
    for name in ("a", "b", "c"):
        folder = tmp_path / name
        folder.mkdir()
        instances, results = write_case(folder, 200, seed=1 if name != "c" else 2)
        files.append([instances.read_bytes(), *(p.read_bytes() for _, p in results)])
    assert files[0] == files[1]  # same scale and seed: the same project
    assert files[0] != files[2]
    gt = json.loads(files[0][0])
    assert len(gt["images"]) == 200
    assert [c["name"] for c in gt["categories"]] == list(CLASSES)
    sizes = {i["id"]: (i["width"], i["height"]) for i in gt["images"]}
    per_image = len(gt["annotations"]) / 200
    assert 4 < per_image < 8
    for doc in [gt["annotations"], *(json.loads(f) for f in files[0][1:])]:
        boxes = np.array([a["bbox"] for a in doc])
        limits = np.array([sizes[a["image_id"]] for a in doc])
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] > 0).all()
        assert (boxes[:, :2] + boxes[:, 2:] <= limits + 1e-6).all()
    scores = [np.array([d["score"] for d in json.loads(f)]) for f in files[0][1:]]
    assert all(((s > 0) & (s < 1)).all() for s in scores)


@pytest.mark.slow
def test_scale_demo_on_both_backends(store_url: str) -> None:
    with open_store(store_url) as store:
        mine = create_project(store, "mine", {"objects": [], "classifications": []})
        result = run_scale_demo(store, 30, seed=3)
        assert result.data_units == 30
        assert result.branches == ["main", *(d.branch for d in DETECTORS)]
        assert len(list_data_units(store, result.project)) == 30
        for branch in result.results:
            doc = get_metrics(store, result.project, branch.branch)
            assert doc["stats"] == branch.stats
            assert doc["ground_truth"] == result.ground_truth_objects
        again = run_scale_demo(store, 30, seed=3)  # replaces its own project, same numbers
        assert [r.stats for r in again.results] == [r.stats for r in result.results]
        titles = sorted(p.title for p in list_projects(store))
        assert titles == ["mine", "scale-demo-30"]
        assert mine.project_hash in {p.project_hash for p in list_projects(store)}
        create_project(store, "scale-demo-7", {"objects": [], "classifications": []})
        with pytest.raises(ResourceExistsError, match="not the demo's"):
            run_scale_demo(store, 7)
        with pytest.raises(InvalidArgumentsError, match="--scale 0"):
            run_scale_demo(store, 0)
        assert SCALE_DESCRIPTION not in {
            p.description for p in list_projects(store) if p.title == "scale-demo-7"
        }


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_photo_demo_on_postgresql(store_url: str) -> None:
    with open_store(store_url) as store:
        result = run_demo(store, DATA)
        assert result.ground_truth_objects == 48
        assert [r.outcomes_at_50["tp"] for r in result.results] == [1, 3, 5]
