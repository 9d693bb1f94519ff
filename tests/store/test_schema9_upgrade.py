"""m0010 adds a row's geometry copy (``label_rows.geometry``; ``label_row_geometry`` since m0014)
and leaves rows written before it without one: they are evaluated from their JSON, and the next
write of a row stores its copy."""

from __future__ import annotations

import orjson
from sqlalchemy import inspect, select, text

from predscope.formats.row_geometry import encode_document
from predscope.sdk.client import Client
from predscope.services.analysis.evaluate import branch_inputs
from predscope.services.projects import add_data, create_project, get_project
from predscope.store.engine import open_store
from predscope.store.label_rows import create_rows, load_geometry
from predscope.store.migrate import MIGRATIONS
from predscope.store.schema import label_rows

ONTOLOGY = {
    "objects": [
        {"id": "1", "name": "car", "color": "#FF0000", "shape": "bounding_box",
         "featureNodeHash": "fh-car"},
    ],
    "classifications": [],
}  # fmt: skip


def test_a_version_9_row_is_read_from_its_json_until_written_again(store_url: str) -> None:
    assert MIGRATIONS[9].version == 10
    with open_store(store_url, migrations=MIGRATIONS[:9]) as old:
        project = create_project(old, "old", ONTOLOGY)
        add_data(old, project, [{"title": "a.png", "width": 100, "height": 50}])
        with old.begin() as conn:
            assert "geometry" not in {c["name"] for c in inspect(conn).get_columns("label_rows")}
            unit = conn.execute(text("SELECT data_hash FROM data_units")).scalar_one()
            [row] = create_rows(conn, project.id, [(unit, "main")])
            box = {"h": 0.5, "w": 0.25, "x": 0.125, "y": 0.0625}
            entry = {"featureHash": "fh-car", "objectHash": "o1", "shape": "bounding_box",
                     "name": "car", "boundingBox": box}  # fmt: skip
            document = {
                "data_units": {unit: {"labels": {"objects": [entry]}}},
                "object_answers": {"o1": {"objectHash": "o1", "classifications": []}},
            }
            conn.execute(
                text("UPDATE label_rows SET document = :d, object_count = 1 WHERE label_hash = :h"),
                {"d": orjson.dumps(document), "h": row.label_hash},
            )
    with open_store(store_url) as new:
        assert new.schema_version() == MIGRATIONS[-1].version
        with new.read() as conn:
            (label_hash,) = conn.execute(select(label_rows.c.label_hash)).one()
            assert load_geometry(conn, [label_hash]) == {label_hash: None}
        gt = branch_inputs(new, get_project(new, "old"), "main")
        assert gt.bbox.tolist() == [[12.5, 3.125, 25.0, 25.0]]  # from the JSON
    with Client(store_url) as client:
        [sdk_row] = client.get_project("old").list_label_rows_v2()
        sdk_row.initialise_labels()
        sdk_row.save()
    with open_store(store_url) as new, new.read() as conn:
        label_hash, stored = conn.execute(
            select(label_rows.c.label_hash, label_rows.c.document)
        ).one()
        geometry = load_geometry(conn, [label_hash])[label_hash]
        assert geometry is not None and geometry == encode_document(orjson.loads(stored), "image")
