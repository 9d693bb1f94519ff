"""A store analysed before migration 7 (per-threshold indexes, no signatures, match records inside
``analysis_sets``) is upgraded in place: every object gets the signature a new run writes, the
per-set counts equal a new run's, the records move, and the query layer answers as on a store
analysed after the upgrade."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select

from predscope.services.analysis.runs import analyse
from predscope.services.query import query_data_units, query_objects
from predscope.store.engine import Store, open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.schema import analysis_counts, analysis_histograms, analysis_states
from tests.services.analysis.analysis_fixtures import bbox_project, stored_objects

ORDER = ("projects", "data_units", "label_rows", "analysis_sets", "analysis_runs")


def _copy_into_schema6(new: Store, old_url: str) -> None:
    """Every row of ``new`` written into a store at schema 6, as that schema stores it."""
    with new.read() as src:
        states = dict(src.execute(select(analysis_states.c.set_id, analysis_states.c.state)).all())
        with open_store(old_url, migrations=MIGRATIONS[:6]) as old, old.begin() as dst:
            md = MetaData()
            md.reflect(dst)
            names = [*ORDER, *(t for t in md.tables if t not in ORDER and t != "schema_version")]
            for name in names:
                table = md.tables[name]
                if not inspect(src).has_table(name):
                    continue
                src_table = MetaData()
                src_table.reflect(src, only=[name])
                have = {c.name for c in src_table.tables[name].columns}
                cols = [c.name for c in table.columns if c.name in have]
                rows = [
                    dict(r._mapping)
                    for r in src.execute(select(*[src_table.tables[name].c[c] for c in cols]))
                ]
                if name == "analysis_sets":
                    for r in rows:
                        r["state"] = states.get(r["id"])
                if rows:
                    dst.execute(table.insert(), rows)
                if dst.dialect.name == "postgresql" and "id" in cols and rows:
                    dst.exec_driver_sql(  # explicit ids leave the sequence behind
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
            assert "ix_analysis_objects_t3" in {
                ix["name"] for ix in inspect(dst).get_indexes("analysis_objects")
            }


def _counts(store: Store) -> list[tuple[Any, ...]]:
    c = analysis_counts.c
    with store.read() as conn:
        rows = conn.execute(select(c.set_id, c.kind, c.sig, c.class_id, c.n))
        return sorted(tuple(r) for r in rows)


def _histograms(store: Store) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return sorted(tuple(r) for r in conn.execute(select(analysis_histograms)))


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


def test_schema6_analysis_is_upgraded_to_signatures_and_counts(
    store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fresh = open_store(str(tmp_path_factory.mktemp("fresh") / "store"))
    project = bbox_project(fresh)
    analyse(fresh, project.record, "model")
    _copy_into_schema6(fresh, store_url)
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == MIGRATIONS[-1].version
        with upgraded.read() as conn:
            names = {ix["name"] for ix in inspect(conn).get_indexes("analysis_objects")}
            assert "ix_analysis_objects_t3" not in names
            assert {"ix_analysis_objects_sig", "ix_analysis_objects_iou3"} <= names
            assert "state" not in {c["name"] for c in inspect(conn).get_columns("analysis_sets")}
            assert conn.execute(select(analysis_states.c.state)).scalar() is not None
        assert stored_objects(upgraded, with_id=True) == stored_objects(fresh, with_id=True)
        assert _counts(upgraded) == _counts(fresh)
        assert _histograms(upgraded) == _histograms(fresh) != []
        assert {r[2] for r in _counts(fresh)} == {r["sig"] for r in stored_objects(fresh)}
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
