"""Migration 14 moves each label row's geometry copy out of ``label_rows``, bytes unchanged, and
drops the column; a row that had none still has none, and the analysis reads the same."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.store.engine import open_store
from predscope.store.label_rows import load_geometry
from predscope.store.migrate import MIGRATIONS
from predscope.store.schema import label_rows
from tests.services.analysis.analysis_fixtures import bbox_project
from tests.store.legacy_stores import legacy_store

SKIP = ("run", "freshness", "latest_attempt", "errors")  # errors name the run of their dAP


def test_schema13_copies_move_to_their_table(
    store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fresh = open_store(str(tmp_path_factory.mktemp("fresh") / "store"))
    analyse(fresh, bbox_project(fresh).record, "model")
    with fresh.read() as conn:
        hashes = list(conn.execute(select(label_rows.c.label_hash)).scalars())
        want = load_geometry(conn, hashes)
    assert sum(g is not None for g in want.values()) > len(want) / 2
    legacy_store(fresh, store_url, 13)
    with open_store(store_url, migrations=MIGRATIONS[:13]) as old, old.begin() as conn:
        assert "geometry" in {c["name"] for c in inspect(conn).get_columns("label_rows")}
        # one row written without a copy (as before m0010): it stays without one
        conn.exec_driver_sql(
            "UPDATE label_rows SET geometry = NULL WHERE label_hash = ?"
            if conn.dialect.name == "sqlite"
            else "UPDATE label_rows SET geometry = NULL WHERE label_hash = %s",
            (hashes[0],),
        )
    want[hashes[0]] = None
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        with upgraded.read() as conn:
            assert "geometry" not in {c["name"] for c in inspect(conn).get_columns("label_rows")}
            assert load_geometry(conn, hashes) == want
        doc = get_metrics(upgraded, "coco-bbox", "model")
        again = analyse(upgraded, "coco-bbox", "model", full=True)
        assert again.mode == "full"
        after = get_metrics(upgraded, "coco-bbox", "model")
        assert {k: v for k, v in after.items() if k not in SKIP} == {
            k: v for k, v in doc.items() if k not in SKIP
        }
        assert after["errors"]["counts"] == doc["errors"]["counts"]
    fresh.close()
