"""Version 6: Ed25519 keys the Encord-compatible API accepts, and the projects each user may see."""

from __future__ import annotations

from sqlalchemy import Column, Connection, ForeignKey, Integer, MetaData, String, Table, Text

from predscope.store.types import UTCDateTime


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("projects", md, autoload_with=conn)  # the grants' foreign key refers to it
    keys = Table(
        "encord_keys",
        md,
        Column("id", Integer, primary_key=True),
        Column("key_hex", String(64), nullable=False, unique=True),
        Column("user_email", String(320), nullable=False, index=True),
        Column("public_key", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    )
    grants = Table(
        "encord_grants",
        md,
        Column("user_email", String(320), primary_key=True),
        Column(
            "project_id",
            Integer,
            ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
        Column("created_at", UTCDateTime, nullable=False),
    )
    keys.create(conn)
    grants.create(conn)
