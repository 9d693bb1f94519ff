"""Removing and renaming: one transaction each, ground truth only with force, all in the history."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from predscope.exceptions import InvalidArgumentsError, ResourceExistsError, ResourceNotFoundError
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from predscope.services.history import list_history
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.store.imports import find_imports
from predscope.store.label_rows import list_row_metadata
from tests.services.coco_fixtures import SKIMAGE


@pytest.fixture
def client(store_url: str) -> Iterator[Client]:
    with Client(store_url) as c:
        yield c


@pytest.fixture
def project(client: Client) -> Project:
    """The skimage photos with ground truth on main and mediapipe's detections on 'mp'."""
    ontology = json.loads((SKIMAGE / "demo_ontology.json").read_text())
    project = client.create_project("photos", ontology=ontology)
    project.add_data(sorted((SKIMAGE / "images").iterdir()))
    gt = SKIMAGE / "demo_ground_truth.json"
    import_coco(client.store, project.record, gt, ImportOptions(ground_truth=True))
    preds = SKIMAGE / "pred_mediapipe_0.10.21.json"
    import_coco(
        client.store,
        project.record,
        preds,
        ImportOptions(branch="mp"),
        gt_path=SKIMAGE / "images_coco.json",
    )
    return project


def _rows(project: Project) -> dict[str, int]:
    with project.store.read() as conn:
        records = list_row_metadata(
            conn, project.record.id, branch_name=None, include_all_branches=True
        )
    out: dict[str, int] = {}
    for r in records:
        if r.label_hash is not None:
            out[r.branch_name] = out.get(r.branch_name, 0) + 1
    return out


def _imports(project: Project) -> list[str]:
    with project.store.read() as conn:
        return [i.branch_name for i in find_imports(conn, project.record.id)]


def test_remove_branch_takes_rows_and_imports_and_is_recorded(project: Project) -> None:
    assert _rows(project) == {"main": 3, "mp": 2} and _imports(project) == ["main", "mp"]
    change = project.remove_branch("mp")
    assert (change.rows, change.objects, change.imports) == (2, 3, 1)
    assert _rows(project) == {"main": 3} and _imports(project) == ["main"]
    assert project.list_branches() == ["main"]
    event = project.list_history()[-1]
    assert (event.action, event.subject, event.origin) == ("remove branch", "mp", "python")
    assert event.details["rows"] == 2 and "@" in event.actor
    with pytest.raises(ResourceNotFoundError, match="no rows on branch 'mp'"):
        project.remove_branch("mp")


def test_main_changes_need_force(project: Project) -> None:
    with pytest.raises(InvalidArgumentsError, match="ground truth - pass force=True"):
        project.remove_branch("main")
    with pytest.raises(InvalidArgumentsError, match="force=True"):
        project.rename_branch("main", "gt")
    with pytest.raises(InvalidArgumentsError, match="force=True"):
        project.rename_branch("mp", "main")
    assert _rows(project) == {"main": 3, "mp": 2}
    assert project.remove_branch("main", force=True).rows == 3
    assert _rows(project) == {"mp": 2}


def test_rename_moves_rows_and_imports_and_refuses_an_existing_name(project: Project) -> None:
    project.copy_labels_to_branch("other", source_branch="mp")
    with pytest.raises(ResourceExistsError, match="branch 'other' already exists"):
        project.rename_branch("mp", "other")
    assert _rows(project) == {"main": 3, "mp": 2, "other": 2}
    [before] = [r for r in project.list_label_rows_v2(branch_name="mp") if r.label_hash][:1]
    before.initialise_labels()
    change = project.rename_branch("mp", "mediapipe")
    assert (change.rows, change.imports, change.new_name) == (2, 1, "mediapipe")
    assert _rows(project) == {"main": 3, "mediapipe": 2, "other": 2}
    assert _imports(project) == ["main", "mediapipe"]
    moved = [r for r in project.list_label_rows_v2(branch_name="mediapipe") if r.label_hash]
    assert before.label_hash in {r.label_hash for r in moved}
    # The renamed rows are newer than any copy read before the rename.
    from predscope.exceptions import LabelRowConflictError

    with pytest.raises(LabelRowConflictError):
        before.save()


def test_remove_data_units_removes_their_rows_on_every_branch(project: Project) -> None:
    hashes = {u.data_title: u.data_hash for u in project.list_data_units()}
    # astronaut.png has ground truth; coins.png none. An unknown name refuses the whole call.
    with pytest.raises(ResourceNotFoundError, match="'nothing.png' - nothing was removed"):
        project.remove_data_units(["coins.png", "nothing.png"])
    with pytest.raises(InvalidArgumentsError, match="ground-truth"):
        project.remove_data_units([hashes["astronaut.png"], "coins.png"])
    assert len(project.list_data_units()) == 8
    removal = project.remove_data_units([hashes["astronaut.png"], "coins.png"], force=True)
    assert removal.data_units == 2 and removal.main_objects > 0
    titles = {u.data_title for u in project.list_data_units()}
    assert "astronaut.png" not in titles and "coins.png" not in titles and len(titles) == 6
    with project.store.read() as conn:
        left = list_row_metadata(
            conn, project.record.id, branch_name=None, include_all_branches=True
        )
    assert all(r.data_hash != hashes["astronaut.png"] for r in left)
    assert removal.rows == 2  # astronaut.png's row on main and on mp
    event = project.list_history()[-1]
    assert event.action == "remove data" and event.details["titles"] == [
        "astronaut.png",
        "coins.png",
    ]


def test_remove_project_keeps_its_history(client: Client, project: Project) -> None:
    other = client.create_project("other", ontology={"objects": [], "classifications": []})
    with pytest.raises(InvalidArgumentsError, match="ground-truth"):
        client.remove_project("photos")
    removal = client.remove_project("photos", force=True)
    assert (removal.data_units, removal.rows, removal.branches) == (8, 5, 2)
    assert [p.title for p in client.list_projects()] == ["other"]
    with pytest.raises(ResourceNotFoundError):
        client.get_project("photos")
    events = list_history(client.store, "photos")  # found by title after removal
    assert events[-1].action == "remove project" and events[-1].details["rows"] == 5
    assert events[0].action == "add data"
    assert list_history(client.store, project.project_hash)[-1].action == "remove project"
    assert other.list_data_units() == []
