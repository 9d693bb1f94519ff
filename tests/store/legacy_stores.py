"""Stores at an old schema version, filled from a new store: each table's rows as that schema
stored them (run results with their PR curves inline before version 13, rows' geometry copies in
``label_rows`` from 10 to 13), and the objects (now typed columns) as rows of the old
``analysis_objects`` with NULL where a value is empty, and the columns that schema had (no
``sig`` before version 7)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect, select

from predscope.services.analysis.records import Records
from predscope.store._util import dump_json
from predscope.store.analysis import load_state, run_results
from predscope.store.engine import Store, open_store
from predscope.store.migrate import MIGRATIONS
from predscope.store.object_columns import object_rows
from predscope.store.schema import analysis_column_sets, analysis_sets, label_row_geometry

ORDER = ("projects", "data_units", "label_rows", "analysis_sets", "analysis_runs")


def _object_rows(src: Connection, table: Table) -> list[dict[str, Any]]:
    """Every set's objects as rows of ``table``, with fresh ids."""
    have = {c.name for c in table.columns}
    out: list[dict[str, Any]] = []
    for (set_id,) in src.execute(select(analysis_column_sets.c.set_id).order_by("set_id")):
        for r in object_rows(src, set_id):
            row = {k: v for k, v in r.items() if k in have}
            out.append({**row, "id": len(out) + 1, "set_id": set_id})
    return out


def legacy_store(new: Store, url: str, version: int, *, analyses: bool = True) -> None:
    """Write every row of ``new`` (without its analysis tables unless ``analyses``) into a new
    store at ``url`` migrated to ``version`` only."""
    with new.read() as src:
        # before version 12 a set's match records were one archive
        states = {
            set_id: Records.from_blocks(blocks).to_bytes().tobytes()
            for (set_id,) in src.execute(select(analysis_sets.c.id))
            if (blocks := load_state(src, set_id)) is not None
        }
        with open_store(url, migrations=MIGRATIONS[:version]) as old, old.begin() as dst:
            assert old.schema_version() == version
            md = MetaData()
            md.reflect(dst)
            names = [*ORDER, *(t for t in md.tables if t not in ORDER and t != "schema_version")]
            for name in names:
                table = md.tables[name]
                if name.startswith("analysis_") and not analyses:
                    continue
                if name == "analysis_objects":
                    rows = _object_rows(src, table)
                elif name == "analysis_states":  # versions 7 to 11
                    rows = [{"set_id": k, "state": v} for k, v in states.items()]
                elif not inspect(src).has_table(name):
                    continue
                else:
                    src_md = MetaData()
                    src_md.reflect(src, only=[name])
                    have = {c.name for c in src_md.tables[name].columns}
                    cols = [src_md.tables[name].c[c.name] for c in table.columns if c.name in have]
                    rows = [dict(r._mapping) for r in src.execute(select(*cols))]
                if name == "label_rows" and "geometry" in table.c:  # versions 10 to 13
                    copies = {i: g for i, g in src.execute(select(*label_row_geometry.c))}
                    for r in rows:
                        r["geometry"] = copies.get(r["id"])
                if name == "analysis_runs" and version < 13:  # PR curves inline, not by digest
                    for r in rows:
                        if r.get("results"):
                            r["results"] = dump_json(run_results(src, r["id"]))
                if name == "analysis_sets" and "state" in table.c:  # before version 7
                    for r in rows:
                        r["state"] = states.get(r["id"])
                if rows:
                    dst.execute(table.insert(), rows)
                if dst.dialect.name == "postgresql" and "id" in table.c and rows:
                    dst.exec_driver_sql(  # explicit ids leave the sequence behind
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
