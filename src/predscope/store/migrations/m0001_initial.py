"""Version 1: projects, data units, image-group images and label rows.

Frozen on purpose: these definitions describe the schema as it was at version 1, whatever
``store/schema.py`` says today, so an old store is always upgraded from the same starting point.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from predscope.store.types import UTCDateTime


def _tables() -> MetaData:
    md = MetaData()
    Table(
        "projects",
        md,
        Column("id", Integer, primary_key=True),
        Column("project_hash", String(36), nullable=False, unique=True),
        Column("title", String(400), nullable=False, unique=True),
        Column("description", Text, nullable=False),
        Column("ontology", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_edited_at", UTCDateTime, nullable=False),
    )
    Table(
        "data_units",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        Column("data_hash", String(36), nullable=False),
        Column("data_title", String(1000), nullable=False),
        Column("data_type", String(20), nullable=False),
        Column("data_link", Text),
        Column("mime_type", String(100)),
        Column("width", Integer),
        Column("height", Integer),
        Column("number_of_frames", Integer),
        Column("frames_per_second", Float),
        Column("duration", Float),
        Column("audio_sample_rate", Integer),
        Column("audio_codec", String(50)),
        Column("audio_bit_depth", Integer),
        Column("audio_num_channels", Integer),
        Column("extra", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        UniqueConstraint("project_id", "data_hash", name="uq_data_units_project_hash"),
        Index("ix_data_units_project_title", "project_id", "data_title"),
    )
    Table(
        "data_unit_images",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "data_unit_id",
            Integer,
            ForeignKey("data_units.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("frame", Integer, nullable=False),
        Column("image_hash", String(36), nullable=False),
        Column("title", String(1000), nullable=False),
        Column("data_link", Text),
        Column("mime_type", String(100)),
        Column("width", Integer, nullable=False),
        Column("height", Integer, nullable=False),
        UniqueConstraint("data_unit_id", "frame", name="uq_data_unit_images_frame"),
    )
    Table(
        "label_rows",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        Column(
            "data_unit_id",
            Integer,
            ForeignKey("data_units.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("branch_name", String(200), nullable=False),
        Column("label_hash", String(36), nullable=False, unique=True),
        Column("label_status", String(40), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_edited_at", UTCDateTime, nullable=False),
        Column("document", LargeBinary),
        Column("object_count", Integer, nullable=False),
        Column("classification_count", Integer, nullable=False),
        UniqueConstraint("data_unit_id", "branch_name", name="uq_label_rows_unit_branch"),
        Index("ix_label_rows_project_branch", "project_id", "branch_name"),
    )
    return md


def upgrade(conn: Connection) -> None:
    _tables().create_all(conn)
