"""A store analysed before migration 7 (per-threshold indexes, no signatures, match records inside
``analysis_sets``) is upgraded in place through m0007..m0011: every object gets the signature a
new run writes, the records move, the rows become the object columns a new run stores, and the
query layer answers as on a store analysed after the upgrade."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select

from predscope.services.analysis.runs import analyse
from predscope.services.query import query_data_units, query_objects
from predscope.store.engine import open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.schema import analysis_state_blocks
from tests.services.analysis.analysis_fixtures import bbox_project, stored_objects
from tests.store.legacy_stores import legacy_store

QUERIES: list[dict[str, Any]] = [
    {},
    {"outcome": "TP", "iou_threshold": 0.75},
    {"outcome": "FP", "object_names": ["person"], "order_by": "-area_px"},
    {"error_type": "localisation", "order_by": "iou"},
    {"kind": "ground_truth", "outcome": "FN", "iou_threshold": 0.9},
    {"min_iou": 0.6, "max_iou": 0.8, "order_by": "-iou"},
    {"min_confidence": 0.42, "outcome": "FP"},
    {"properties": {"area_px": (500.0, 20000.0)}, "order_by": "area_px"},
]


def test_schema6_analysis_is_upgraded_to_signatures_and_columns(
    store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fresh = open_store(str(tmp_path_factory.mktemp("fresh") / "store"))
    project = bbox_project(fresh)
    analyse(fresh, project.record, "model")
    legacy_store(fresh, store_url, 6)
    with open_store(store_url, migrations=MIGRATIONS[:6]) as old, old.read() as conn:
        assert "sig" not in {c["name"] for c in inspect(conn).get_columns("analysis_objects")}
        assert "ix_analysis_objects_t3" in {
            ix["name"] for ix in inspect(conn).get_indexes("analysis_objects")
        }
        assert conn.exec_driver_sql("SELECT count(*) FROM analysis_objects").scalar() == len(
            stored_objects(fresh)
        )
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        with upgraded.read() as conn:
            assert not inspect(conn).has_table("analysis_objects")
            assert "state" not in {c["name"] for c in inspect(conn).get_columns("analysis_sets")}
            assert conn.execute(select(analysis_state_blocks.c.state)).scalar() is not None
        # sig included: m0007 computed in SQL what a new run computes
        assert stored_objects(upgraded, with_id=True) == stored_objects(fresh, with_id=True)
        for q in QUERIES:
            got = query_objects(upgraded, "coco-bbox", "model", limit=20, **q).to_dict()
            want = query_objects(fresh, "coco-bbox", "model", limit=20, **q).to_dict()
            assert got == want, q
        units = query_data_units(upgraded, "coco-bbox", "model", object_names=["person"])
        assert (
            units.to_dict()
            == query_data_units(fresh, "coco-bbox", "model", object_names=["person"]).to_dict()
        )
        # and the upgraded store analyses incrementally from the moved records
        again = analyse(upgraded, "coco-bbox", "model")
        assert (again.mode, again.changed_units) == ("incremental", 0)
        assert stored_objects(upgraded) == stored_objects(fresh)
    fresh.close()
