"""Row versions: every write adds one; a save over a newer version is refused (no lost update)."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from sqlalchemy import inspect, text

from predscope.exceptions import LabelRowConflictError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from predscope.services.rows import copy_labels_to_branch, write_rows
from predscope.store.data_units import add_data_units
from predscope.store.engine import open_store
from predscope.store.label_rows import list_row_metadata
from predscope.store.migrate import MIGRATIONS
from predscope.store.projects import create_project
from predscope.store.records import NewDataUnit
from tests.sdk.sdk_data import ONTOLOGY


def _box(row: LabelRowV2, x: float) -> None:
    inst = row.ontology_structure.get_child_by_title("box").create_instance()
    box = BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=x, top_left_y=0.1)
    inst.set_for_frames(box, frames=0, confidence=0.5)
    row.add_object_instance(inst)


def _row(project: Project, branch: str = "preds") -> LabelRowV2:
    [row] = project.list_label_rows_v2(branch_name=branch, data_title_eq="a.jpg")
    row.initialise_labels()
    return row


def _stored_version(project: Project, branch: str = "preds") -> int:
    with project.store.read() as conn:
        [record] = list_row_metadata(conn, project.record.id, branch_name=branch)
    return record.version


def _project(client: Client) -> Project:
    project = client.create_project("v", ontology=ONTOLOGY)
    project.add_data([{"title": "a.jpg", "width": 64, "height": 48}])
    return project


def test_every_write_adds_one_to_the_version(store_url: str) -> None:
    with Client(store_url) as client:
        project = _project(client)
        row = _row(project)
        assert row.version == 1 == _stored_version(project)
        _box(row, 0.1)
        row.save()
        assert row.version == 2 == _stored_version(project)
        row.save()
        assert row.version == 3 == _stored_version(project)
        # The bulk write path the importers use bumps it too.
        with project.store.begin() as conn:
            write_rows(conn, project.record, [row])
        assert _stored_version(project) == 4
        copy_labels_to_branch(project.store, project.record, "copy", source_branch="preds")
        copy_labels_to_branch(
            project.store, project.record, "copy", source_branch="preds", overwrite=True
        )
        assert _stored_version(project, "copy") == 3  # created (1), written twice


def test_a_save_over_a_newer_version_is_refused_and_names_the_row(store_url: str) -> None:
    with Client(store_url) as one, Client(store_url) as two:
        project_one = _project(one)
        _row(project_one).save()  # create and save once: version 2
        project_two = two.get_project("v")
        first, second = _row(project_one), _row(project_two)
        _box(first, 0.1)
        _box(second, 0.5)
        first.save()
        with pytest.raises(LabelRowConflictError) as caught:
            second.save()
        message = str(caught.value)
        assert "'a.jpg' on branch 'preds'" in message and "list the row again" in message
        assert caught.value.code == "label_row_conflict"
        from predscope.server.errors import status_for

        assert status_for(caught.value) == 409  # the HTTP API answers "conflict"
        [kept] = _row(project_two).get_object_instances()  # the first save's object survives
        assert kept.get_annotation(0).coordinates.top_left_x == pytest.approx(0.1)
        # Redoing the change on a fresh copy works.
        second.initialise_labels(overwrite=True)
        _box(second, 0.5)
        second.save()
        assert len(_row(project_one).get_object_instances()) == 2


def test_two_copies_in_one_bundle_are_refused(store_url: str) -> None:
    with Client(store_url) as client:
        project = _project(client)
        a, b = _row(project), _row(project)
        _box(a, 0.1)
        _box(b, 0.2)
        with (
            pytest.raises(LabelRowConflictError, match="two copies"),
            project.create_bundle() as bundle,
        ):
            a.save(bundle=bundle)
            b.save(bundle=bundle)
        assert _row(project).get_object_instances() == []


def _save_after_barrier(location: str, x: float, barrier: Any, results: Any) -> None:
    with Client(location) as client:
        row = _row(client.get_project("v"))
        _box(row, x)
        barrier.wait(60)
        try:
            row.save()
            results.put(("saved", x))
        except LabelRowConflictError as exc:
            results.put(("conflict", str(exc)))


def test_two_processes_saving_one_row_lose_nothing_silently(store_url: str) -> None:
    with Client(store_url) as client:
        project = _project(client)
        _row(project).save()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_save_after_barrier, args=(store_url, x, barrier, results))
        for x in (0.1, 0.6)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["conflict", "saved"], outcomes
    winner = next(x for kind, x in outcomes if kind == "saved")
    with Client(store_url) as client:
        [obj] = _row(client.get_project("v")).get_object_instances()
        assert obj.get_annotation(0).coordinates.top_left_x == pytest.approx(winner)


def test_rows_of_an_older_store_start_at_version_one(store_url: str) -> None:
    with open_store(store_url, migrations=MIGRATIONS[:2]) as old, old.begin() as conn:
        project = create_project(conn, "old", ONTOLOGY)
        [unit] = add_data_units(
            conn, project.id, [NewDataUnit("a.jpg", "image", width=4, height=4)]
        )
        conn.execute(
            text(
                "INSERT INTO label_rows (project_id, data_unit_id, branch_name, label_hash, "
                "label_status, created_at, last_edited_at, object_count, classification_count) "
                "VALUES (:p, :u, 'main', 'h1', 'NOT_LABELLED', :t, :t, 0, 0)"
            ),
            {"p": project.id, "u": unit.id, "t": unit.created_at},
        )
    with open_store(store_url) as store, store.read() as conn:
        assert inspect(conn).has_table("history")
        [record] = list_row_metadata(conn, project.id, branch_name="main")
        assert record.label_hash == "h1" and record.version == 1
