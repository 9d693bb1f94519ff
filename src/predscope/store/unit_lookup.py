"""Data units found by data hash alone, across projects (the server's media routes)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from predscope.store.data_units import images_for, unit_record
from predscope.store.records import DataUnitRecord
from predscope.store.schema import data_units


def units_with_hash(conn: Connection, data_hash: str) -> list[DataUnitRecord]:
    """Usually one (hashes are uuid4); several only if the same hash was imported twice."""
    rows = list(
        conn.execute(
            select(data_units).where(data_units.c.data_hash == data_hash).order_by(data_units.c.id)
        ).mappings()
    )
    images = images_for(conn, [m["id"] for m in rows if m["data_type"] == "img_group"])
    return [unit_record(m, images.get(m["id"], ())) for m in rows]
