"""A store made before ``label_rows.version`` existed (schema 2) is upgraded when opened, and its
rows can then be read, saved and guarded against lost updates like any other."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from predscope.exceptions import LabelRowConflictError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.objects.label_row import LabelRowV2
from predscope.sdk.client import Client
from predscope.store.data_units import add_data_units
from predscope.store.engine import open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.projects import create_project
from predscope.store.records import NewDataUnit
from tests.sdk.sdk_data import ONTOLOGY


def _schema2_store(store_url: str) -> None:
    """Only migrations 1-2 applied, two rows on ``main`` written the way that schema wrote them."""
    with open_store(store_url, migrations=MIGRATIONS[:2]) as old, old.begin() as conn:
        assert old.schema_version() == 2
        assert "version" not in {c["name"] for c in inspect(conn).get_columns("label_rows")}
        project = create_project(conn, "old", ONTOLOGY)
        units = add_data_units(
            conn,
            project.id,
            [NewDataUnit(t, "image", width=4, height=4) for t in ("a.jpg", "b.jpg")],
        )
        for n, unit in enumerate(units):
            conn.execute(
                text(
                    "INSERT INTO label_rows (project_id, data_unit_id, branch_name, label_hash, "
                    "label_status, created_at, last_edited_at, object_count, "
                    "classification_count) "
                    "VALUES (:p, :u, 'main', :h, 'NOT_LABELLED', :t, :t, 0, 0)"
                ),
                {"p": project.id, "u": unit.id, "h": f"h{n}", "t": unit.created_at},
            )


def _add_box(row: LabelRowV2, x: float) -> None:
    inst = row.ontology_structure.get_child_by_title("box").create_instance()
    inst.set_for_frames(BoundingBoxCoordinates(0.1, 0.1, x, 0.1), frames=0, confidence=0.5)
    row.add_object_instance(inst)


def _row(client: Client, title: str) -> LabelRowV2:
    [row] = client.get_project("old").list_label_rows_v2(data_title_eq=title)
    row.initialise_labels()
    return row


def test_schema2_store_is_upgraded_and_its_rows_read_and_written(store_url: str) -> None:
    _schema2_store(store_url)
    with Client(store_url) as client:
        assert client.store.schema_version() == MIGRATIONS[-1].version
        first, stale = _row(client, "a.jpg"), _row(client, "a.jpg")
        assert first.label_hash == "h0" and first.get_object_instances() == []
        _add_box(first, 0.2)
        first.save()
        _add_box(stale, 0.7)  # read at the upgraded version 1, now behind the save above
        with pytest.raises(LabelRowConflictError, match="a.jpg"):
            stale.save()
        other = _row(client, "b.jpg")
        _add_box(other, 0.4)
        other.save()
    with Client(store_url) as client:
        [box] = _row(client, "a.jpg").get_object_instances()
        assert box.get_annotation(0).coordinates.top_left_x == pytest.approx(0.2)
        [box] = _row(client, "b.jpg").get_object_instances()
        assert box.get_annotation(0).coordinates.top_left_x == pytest.approx(0.4)
        with client.store.read() as conn:
            versions = conn.execute(
                text("SELECT label_hash, version FROM label_rows ORDER BY label_hash")
            ).all()
        assert [tuple(v) for v in versions] == [("h0", 2), ("h1", 2)]
