"""``create_rows`` returns records built without re-reading; they must equal a fresh listing."""

from __future__ import annotations

from predscope.store.data_units import add_data_units
from predscope.store.engine import Store
from predscope.store.label_rows import create_rows, list_row_metadata
from predscope.store.projects import create_project
from predscope.store.records import NewDataUnit


def test_created_records_equal_a_fresh_listing(store: Store) -> None:
    with store.begin() as conn:
        project = create_project(conn, "rows", {"objects": [], "classifications": []})
        units = add_data_units(
            conn,
            project.id,
            [
                NewDataUnit(data_title=f"{i}.png", data_type="image", width=8, height=6)
                for i in range(5)
            ],
        )
        first = create_rows(conn, project.id, [(u.data_hash, "model-a") for u in units[:3]])
        again = create_rows(
            conn, project.id, [(u.data_hash, "model-a") for u in units], exist_ok=True
        )
    with store.read() as conn:
        listed = {
            r.label_hash: r for r in list_row_metadata(conn, project.id, branch_name="model-a")
        }
    assert [r.data_hash for r in again] == [u.data_hash for u in units]
    assert [r.label_hash for r in again[:3]] == [r.label_hash for r in first]  # existing rows kept
    for record in again:
        assert record == listed[record.label_hash]
