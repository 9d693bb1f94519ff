"""Saving rows: values kept exactly, validation before writing, bundles as one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pytest
from sqlalchemy import event

from predscope.exceptions import (
    CoordinatesError,
    FrameError,
    LabelRowError,
    OntologyError,
)
from predscope.objects.bitmask import BitmaskCoordinates
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from tests.sdk.sdk_data import ONTOLOGY

BOX = BoundingBoxCoordinates(height=0.2, width=0.3, top_left_x=0.1, top_left_y=0.4)


def _add_box(row: LabelRowV2, confidence: float, manual: bool, frames: int | list[int] = 0) -> str:
    inst = row.ontology_structure.get_child_by_title("box").create_instance()
    inst.set_for_frames(BOX, frames=frames, confidence=confidence, manual_annotation=manual)
    row.add_object_instance(inst)
    return inst.object_hash


def _reload(project: Project, branch: str, title: str) -> LabelRowV2:
    [row] = project.list_label_rows_v2(branch_name=branch, data_title_eq=title)
    row.initialise_labels()
    return row


@dataclass
class Counter:
    statements: int = 0
    commits: int = 0
    rollbacks: int = 0
    sql: list[str] = field(default_factory=list)


@contextmanager
def counting(client: Client) -> Iterator[Counter]:
    engine = client.store.engine
    counter = Counter()

    def on_execute(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            counter.statements += 1
            counter.sql.append(statement.split()[0])

    def on_commit(conn) -> None:  # type: ignore[no-untyped-def]
        counter.commits += 1

    def on_rollback(conn) -> None:  # type: ignore[no-untyped-def]
        counter.rollbacks += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)


def test_confidence_and_manual_annotation_are_kept_exactly(project: Project) -> None:
    row = project.list_label_rows_v2(branch_name="preds", data_title_eq="a.jpg")[0]
    row.initialise_labels()
    values = {
        _add_box(row, 7.4477, False): (7.4477, False),
        _add_box(row, 0.1 + 0.2, True): (0.1 + 0.2, True),
        _add_box(row, -3.25, False): (-3.25, False),
        _add_box(row, 1e-12, False): (1e-12, False),
    }
    row.save()
    stored = _reload(project, "preds", "a.jpg")
    got = {
        inst.object_hash: (
            inst.get_annotations()[0].confidence,
            inst.get_annotations()[0].manual_annotation,
        )
        for inst in stored.get_object_instances()
    }
    assert got == values


def test_video_annotations_keep_per_frame_values(project: Project) -> None:
    row = _reload(project, "main", "clip.mp4")
    inst = row.ontology_structure.get_child_by_title("box").create_instance()
    inst.set_for_frames(BOX, frames=[0, 1], confidence=0.9, manual_annotation=False)
    inst.set_for_frames(BOX, frames=9, confidence=0.4, manual_annotation=True)
    row.add_object_instance(inst)
    row.save()
    [back] = _reload(project, "main", "clip.mp4").get_object_instances()
    got = [(a.frame, a.confidence, a.manual_annotation) for a in back.get_annotations()]
    assert sorted(got) == [(0, 0.9, False), (1, 0.9, False), (9, 0.4, True)]


def test_frames_outside_the_unit_are_refused(project: Project) -> None:
    row = _reload(project, "main", "clip.mp4")
    inst = row.ontology_structure.get_child_by_title("box").create_instance()
    inst.set_for_frames(BOX, frames=10)  # not yet placed: the row checks on add
    with pytest.raises(FrameError, match="frame 10"):
        row.add_object_instance(inst)


def test_bitmask_must_match_the_frame(project: Project) -> None:
    row = _reload(project, "main", "b.jpg")  # 32 x 32
    mask_object = row.ontology_structure.get_child_by_title("mask")
    good = np.zeros((32, 32), dtype=bool)
    good[4:10, 5:20] = True
    inst = mask_object.create_instance()
    inst.set_for_frames(BitmaskCoordinates(good), frames=0, confidence=0.7)
    row.add_object_instance(inst)
    bad = mask_object.create_instance()
    bad.set_for_frames(BitmaskCoordinates(np.ones((16, 32), dtype=bool)), frames=0)
    with pytest.raises(CoordinatesError, match="16x32"):
        row.add_object_instance(bad)
    row.save()
    [back] = _reload(project, "main", "b.jpg").get_object_instances()
    assert np.array_equal(back.get_annotations()[0].coordinates.to_numpy_array(), good)


def test_save_refuses_objects_from_another_ontology(project: Project) -> None:
    other = OntologyStructure.from_dict(
        {**ONTOLOGY, "objects": [{**ONTOLOGY["objects"][0], "featureNodeHash": "Zm9yZWlnbg"}]}
    )
    row = _reload(project, "main", "a.jpg")
    inst = other.objects[0].create_instance()
    inst.set_for_frames(BOX, frames=0)
    row.add_object_instance(inst)
    with pytest.raises(OntologyError, match="Zm9yZWlnbg"):
        row.save()
    [stored] = project.list_label_rows_v2(data_title_eq="a.jpg")
    stored.initialise_labels()
    assert stored.get_object_instances() == []


def test_a_bad_row_aborts_the_whole_bundle(project: Project, client: Client) -> None:
    rows = project.list_label_rows_v2(branch_name="preds")[:3]
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    for row in rows:
        _add_box(row, 0.5, False)
    other = OntologyStructure.from_dict(
        {**ONTOLOGY, "objects": [{**ONTOLOGY["objects"][0], "featureNodeHash": "Zm9yZWlnbg"}]}
    )
    stray = other.objects[0].create_instance()
    stray.set_for_frames(BOX, frames=0)
    rows[2].add_object_instance(stray)
    bundle = project.create_bundle()
    for row in rows:
        row.save(bundle=bundle)
    with counting(client) as counter, pytest.raises(OntologyError):
        bundle.execute()
    assert counter.statements == 0  # refused before the transaction opened
    for row in project.list_label_rows_v2(branch_name="preds")[:3]:
        row.initialise_labels()
        assert row.get_object_instances() == []


def test_a_failing_write_rolls_back_the_bundle(project: Project, client: Client) -> None:
    """A database failure mid-bundle leaves nothing half-written."""
    rows = project.list_label_rows_v2(branch_name="preds")[:3]
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    for row in rows:
        _add_box(row, 0.5, False)

    def explode(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE"):
            raise RuntimeError("disk on fire")

    event.listen(client.store.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError, match="disk on fire"), project.create_bundle() as b:
            for row in rows:
                row.save(bundle=b)
    finally:
        event.remove(client.store.engine, "before_cursor_execute", explode)
    for row in project.list_label_rows_v2(branch_name="preds")[:3]:
        row.initialise_labels()
        assert row.get_object_instances() == []


def test_saving_before_initialising_is_refused(project: Project) -> None:
    row = project.list_label_rows_v2(branch_name="x")[0]
    with pytest.raises(LabelRowError, match="initialise"):
        row.save()


def test_bundle_of_1000_rows_is_one_transaction_and_few_statements(client: Client) -> None:
    project = client.create_project("many", ontology=ONTOLOGY)
    project.add_data([{"title": f"{i:04d}.jpg", "width": 100, "height": 80} for i in range(1000)])
    rows = project.list_label_rows_v2(branch_name="preds")
    with counting(client) as init, project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    assert init.commits == 1 and 1 <= init.statements <= 12, init.sql
    for row in rows:
        _add_box(row, 0.3, False)
    with counting(client) as save, project.create_bundle() as bundle:
        for row in rows:
            row.save(bundle=bundle)
    # One UPDATE, after the version check reads the rows (one SELECT per 900 label hashes), and
    # one upsert of the rows' geometry copies.
    assert save.commits == 1 and save.sql == ["SELECT", "SELECT", "UPDATE", "INSERT"], save.sql
    # Reading 1000 existing rows back is one read transaction too.
    listed = project.list_label_rows_v2(branch_name="preds")
    with counting(client) as load, project.create_bundle() as bundle:
        for row in listed:
            row.initialise_labels(bundle=bundle)
    assert load.commits <= 1 and 1 <= load.statements <= 3, load.sql
    assert sum(len(r.get_object_instances()) for r in listed) == 1000


def test_without_a_bundle_each_call_is_its_own_transaction(
    project: Project, client: Client
) -> None:
    rows = project.list_label_rows_v2(branch_name="single")[:3]
    with counting(client) as counter:
        for row in rows:
            row.initialise_labels()
            row.save()
    assert counter.commits == 6


def test_bundle_is_reusable_and_a_failed_block_drops_its_queue(project: Project) -> None:
    rows = project.list_label_rows_v2(branch_name="reuse")[:2]
    bundle = project.create_bundle(bundle_size=1)
    for row in rows:
        row.initialise_labels(bundle=bundle)
    bundle.execute()
    assert all(r.label_hash for r in rows)
    for row in rows:
        _add_box(row, 0.6, False)
        row.save(bundle=bundle)
    bundle.execute()
    with pytest.raises(KeyError), project.create_bundle() as dropped:
        rows[0].save(bundle=dropped)
        raise KeyError("user code failed")
    stored = _reload(project, "reuse", rows[0].data_title)
    assert len(stored.get_object_instances()) == 1


def test_classification_round_trip(project: Project) -> None:
    row = _reload(project, "main", "c.jpg")
    weather = row.ontology_structure.get_child_by_title(
        "weather", type_=type(row.ontology_structure.classifications[0])
    )
    inst = weather.create_instance()
    inst.set_answer(weather.attributes[0].options[1])
    inst.set_for_frames(frames=0, confidence=0.66, manual_annotation=False)
    row.add_classification_instance(inst)
    row.save()
    [back] = _reload(project, "main", "c.jpg").get_classification_instances()
    assert back.get_answer().value == "rainy"
    assert back.get_annotations()[0].confidence == 0.66


def test_a_bad_row_anywhere_in_a_large_bundle_writes_nothing(client: Client) -> None:
    project = client.create_project("large", ontology=ONTOLOGY)
    project.add_data([{"title": f"{i:04d}.jpg", "width": 100, "height": 80} for i in range(1500)])
    rows = project.list_label_rows_v2(branch_name="preds")
    with counting(client) as init, project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    assert init.commits == 1
    for row in rows:
        _add_box(row, 0.3, False)
    other = OntologyStructure.from_dict(
        {**ONTOLOGY, "objects": [{**ONTOLOGY["objects"][0], "featureNodeHash": "Zm9yZWlnbg"}]}
    )
    stray = other.objects[0].create_instance()
    stray.set_for_frames(BOX, frames=0)
    rows[-1].add_object_instance(stray)
    with pytest.raises(OntologyError), project.create_bundle() as bundle:
        for row in rows:
            row.save(bundle=bundle)
    listed = project.list_label_rows_v2(branch_name="preds")
    with project.create_bundle() as bundle:
        for row in listed:
            row.initialise_labels(bundle=bundle)
    assert sum(len(r.get_object_instances()) for r in listed) == 0
    # An explicit bundle_size splits the work into transactions of that many rows.
    rows[-1].remove_object(stray)
    with counting(client) as chunked, project.create_bundle(bundle_size=500) as bundle:
        for row in rows:
            row.save(bundle=bundle)
    assert chunked.commits == 3
