"""The one migration runner: numbered migrations recorded in ``schema_version``.

Opening a store runs every pending migration inside the caller's transaction, so an upgrade is all
or nothing; a store written by a newer predscope is refused instead of being damaged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, select, text

from predscope.exceptions import SchemaVersionError
from predscope.store.migrations import (
    m0001_initial,
    m0002_imports,
    m0003_safety,
    m0004_analysis,
    m0005_server,
    m0006_encord_keys,
    m0007_query,
    m0008_sync,
    m0009_row_listing,
    m0010_row_geometry,
    m0011_object_columns,
    m0012_state_blocks,
    m0013_run_curves,
    m0014_geometry_table,
)
from predscope.store.schema import schema_version


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", m0001_initial.upgrade),
    Migration(2, "imports", m0002_imports.upgrade),
    Migration(3, "safety", m0003_safety.upgrade),
    Migration(4, "analysis", m0004_analysis.upgrade),
    Migration(5, "server", m0005_server.upgrade),
    Migration(6, "encord_keys", m0006_encord_keys.upgrade),
    Migration(7, "query", m0007_query.upgrade),
    Migration(8, "sync", m0008_sync.upgrade),
    Migration(9, "row_listing", m0009_row_listing.upgrade),
    Migration(10, "row_geometry", m0010_row_geometry.upgrade),
    Migration(11, "object_columns", m0011_object_columns.upgrade),
    Migration(12, "state_blocks", m0012_state_blocks.upgrade),
    Migration(13, "run_curves", m0013_run_curves.upgrade),
    Migration(14, "geometry_table", m0014_geometry_table.upgrade),
)

# Any constant works; it only serialises concurrent upgrades of one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x70726564


def current_version(conn: Connection) -> int:
    """0 for an empty database."""
    if not inspect(conn).has_table(schema_version.name):
        return 0
    value = conn.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    return int(value) if value is not None else 0


def migrate(
    conn: Connection, migrations: Sequence[Migration] = MIGRATIONS, *, location: str = "store"
) -> int:
    """Bring the database to the last of ``migrations``; returns the resulting version."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    target = migrations[-1].version if migrations else 0
    version = current_version(conn)
    if version > target:
        raise SchemaVersionError(
            f"{location}: the store is at schema version {version}, but this predscope knows "
            f"versions up to {target} only - upgrade predscope to open it"
        )
    if version == target:
        return version
    if version == 0:
        if not inspect(conn).has_table(schema_version.name):
            schema_version.create(conn)
        if conn.execute(select(schema_version.c.id)).first() is None:
            conn.execute(schema_version.insert().values(id=1, version=0))
    for migration in migrations:
        if migration.version <= version:
            continue
        migration.upgrade(conn)
        conn.execute(
            schema_version.update()
            .where(schema_version.c.id == 1)
            .values(version=migration.version)
        )
        version = migration.version
    return version
