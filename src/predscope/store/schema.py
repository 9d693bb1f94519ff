"""The current schema, in one MetaData, with portable types (SQLite and PostgreSQL).

The repositories query these tables. The migrations in ``store/migrations`` build the same schema
step by step with their own frozen definitions; a test checks the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from predscope.store.types import UTCDateTime

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_hash", String(36), nullable=False, unique=True),
    Column("title", String(400), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("ontology", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_edited_at", UTCDateTime, nullable=False),
)

data_units = Table(
    "data_units",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
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
    Column("extra", Text, nullable=False, default="{}"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_id", "data_hash", name="uq_data_units_project_hash"),
    Index("ix_data_units_project_title", "project_id", "data_title"),
    # Added by migration 5: the server finds a unit's media by its data hash alone.
    Index("ix_data_units_hash", "data_hash"),
)

data_unit_images = Table(
    "data_unit_images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "data_unit_id", Integer, ForeignKey("data_units.id", ondelete="CASCADE"), nullable=False
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

label_rows = Table(
    "label_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column(
        "data_unit_id", Integer, ForeignKey("data_units.id", ondelete="CASCADE"), nullable=False
    ),
    Column("branch_name", String(200), nullable=False),
    Column("label_hash", String(36), nullable=False, unique=True),
    Column("label_status", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_edited_at", UTCDateTime, nullable=False),
    Column("document", LargeBinary),
    Column("object_count", Integer, nullable=False, default=0),
    Column("classification_count", Integer, nullable=False, default=0),
    # Added by migration 3: 1 when created, +1 on every write (lost-update check, change tracking).
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    UniqueConstraint("data_unit_id", "branch_name", name="uq_label_rows_unit_branch"),
    Index("ix_label_rows_project_branch", "project_id", "branch_name"),
    # Added by migration 2: edited-before/after filters and "recently changed" listings.
    Index("ix_label_rows_project_edited", "project_id", "last_edited_at"),
    # Added by migration 8: a branch's summary and counts (``branch_summary``, ``branch_counts``)
    # from the index alone.
    Index(
        "ix_label_rows_markers",
        "project_id",
        "branch_name",
        "version",
        "last_edited_at",
        "object_count",
        "classification_count",
    ),
    # Added by migration 9: a listing's columns without the document (on SQLite the document's
    # overflow pages sit before the counts; ``list_row_metadata`` reads this index instead).
    Index(
        "ix_label_rows_listing",
        "project_id",
        "branch_name",
        "data_unit_id",
        "label_hash",
        "label_status",
        "created_at",
        "last_edited_at",
        "object_count",
        "classification_count",
        "version",
    ),
)
# Migration 14 (m0010's ``label_rows.geometry``, moved): a row's evaluated geometry as columns
# (``formats.row_geometry``), written with the document (no row here: read the document). Out
# of ``label_rows`` because SQLite stores a row's columns in order: a value after the document
# (17 KB at 64 boxes, in overflow pages) is reached only by walking those pages, which made
# reading 10,000 copies of 2 KB cost as much as reading the documents.
label_row_geometry = Table(
    "label_row_geometry",
    metadata,
    Column(
        "label_row_id",
        Integer,
        ForeignKey("label_rows.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("geometry", LargeBinary, nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("branch_name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("source_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("params", Text, nullable=False, default="{}"),
    Column("report", Text, nullable=False, default="{}"),
    Index("ix_imports_project_branch_sha", "project_id", "branch_name", "sha256"),
)

# Added by migration 6: keys the Encord-compatible API accepts, and which projects a user sees.
encord_keys = Table(
    "encord_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_hex", String(64), nullable=False, unique=True),
    Column("user_email", String(320), nullable=False, index=True),
    Column("public_key", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

encord_grants = Table(
    "encord_grants",
    metadata,
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

# Added by migration 8: the source of a synced project, and each synced row's markers.
sync_sources = Table(
    "sync_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("kind", String(40), nullable=False),
    Column("domain", Text, nullable=False),
    Column("source_project_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_synced_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "domain", "source_project_hash", name="uq_sync_sources_source"),
)

sync_rows = Table(
    "sync_rows",
    metadata,
    Column(
        "source_id", Integer, ForeignKey("sync_sources.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("branch_name", String(200), primary_key=True),
    Column("data_hash", String(64), primary_key=True),
    Column("source_label_hash", String(64), nullable=False),
    Column("source_edited", String(64), nullable=False),
    Column("local_version", Integer, nullable=False),
)

# Added by migration 3: removals and renames, kept after the project itself is removed.
history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_hash", String(36), nullable=False),
    Column("project_title", String(400), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", Text, nullable=False),
    Column("details", Text, nullable=False, default="{}"),
    Column("actor", String(200), nullable=False),
    Column("origin", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_history_project", "project_hash", "id"),
)

# Added by migration 4: stored analysis (see m0004_analysis for the layout).
ANALYSIS_THRESHOLDS = 10


def _set_key() -> Column[int]:
    """The ``set_id`` that leads the primary key of a set's per-set tables (gone with the set)."""
    return Column(
        "set_id",
        Integer,
        ForeignKey("analysis_sets.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )


analysis_sets = Table(
    "analysis_sets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("branch_name", String(200), nullable=False),
    Column("against", String(200), nullable=False),
    Column("latest_run_id", Integer),
    Column("review_status", String(20), nullable=False),
    Column("notes", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("project_id", "branch_name", "against", name="uq_analysis_sets_branch"),
)
# The match records (``records.Records``, megabytes per set) as npz blocks of whole images
# (m0012; m0007 moved them out of ``analysis_sets``, whose later columns SQLite then read past
# their overflow pages): an incremental run rewrites only its images' blocks.
analysis_state_blocks = Table(
    "analysis_state_blocks",
    metadata,
    _set_key(),
    Column("part", Integer, primary_key=True, autoincrement=False),
    Column("state", LargeBinary, nullable=False),
)
analysis_runs = Table(
    "analysis_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("params", Text, nullable=False),
    Column("engine_version", String(40), nullable=False),
    Column("gt_fingerprint", String(64)),
    Column("pred_fingerprint", String(64)),
    Column("mode", String(20)),
    Column("changed_units", Integer),
    Column("pid", Integer),
    Column("host", String(255)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("timings", Text, nullable=False),
    Column("progress", Text, nullable=False),
    Column("results", Text),
    Index("ix_analysis_runs_set", "set_id", "id"),
)
# Migration 13: the per-class PR-curve entries of run results, each stored once per set under
# the digest of its JSON; a run's ``results.pr_curves`` lists digests. 80 classes' curves are
# 2 MB of JSON that an incremental run changes for the classes it touched only, and a set keeps
# every run it ever had.
analysis_curves = Table(
    "analysis_curves",
    metadata,
    _set_key(),
    Column("digest", String(32), primary_key=True),
    Column("data", LargeBinary, nullable=False),  # the entry's JSON (UTF-8)
)
analysis_rows = Table(
    "analysis_rows",
    metadata,
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("side", SmallInteger, nullable=False),
    Column("data_unit_id", Integer, nullable=False),
    Column("label_hash", String(36)),
    Column("edited_at", UTCDateTime),
    Column("version", Integer),
    UniqueConstraint("set_id", "side", "data_unit_id", name="uq_analysis_rows_unit"),
)
# Migration 11: a set's objects as typed columns (``store.object_columns``), one array per
# column in parts of bytes, instead of one indexed row per object (m0004 to m0009's
# ``analysis_objects`` with its counts and histograms): a run writes a few dozen values, not
# hundreds of thousands of rows through fifteen indexes, and queries are numpy masks.
analysis_column_sets = Table(
    "analysis_column_sets",
    metadata,
    _set_key(),
    Column("token", String(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("bounds", LargeBinary, nullable=False),  # int64: the first unit id of blocks 1..
)
analysis_columns = Table(
    "analysis_columns",
    metadata,
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(40), nullable=False),
    Column("part", Integer, nullable=False),  # kind * 2**24 + block
    Column("count", Integer, nullable=False),
    Column("token", String(32), nullable=False),  # of the write that stored this block
    Column("dtype", String(16), nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("set_id", "name", "part", name="uq_analysis_columns_part"),
    Index("ix_analysis_columns_part", "set_id", "part"),
)
analysis_attributes = Table(
    "analysis_attributes",
    metadata,
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("data_unit_id", Integer, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String(400), nullable=False),
    Column("value", String(400), nullable=False),
    Index("ix_analysis_attributes_value", "set_id", "name", "value"),
    Index("ix_analysis_attributes_unit", "set_id", "data_unit_id"),
)
_FRAME_COUNTS = [
    Column(f"{name}{t}", Integer, nullable=False)
    for t in range(ANALYSIS_THRESHOLDS)
    for name in ("tp", "fp", "fn")
]
analysis_frames = Table(
    "analysis_frames",
    metadata,
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("data_unit_id", Integer, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("num_gt", Integer, nullable=False),
    Column("num_predictions", Integer, nullable=False),
    *_FRAME_COUNTS,
    UniqueConstraint("set_id", "data_unit_id", "frame", name="uq_analysis_frames_frame"),
    Index("ix_analysis_frames_fp0", "set_id", "fp0"),
    Index("ix_analysis_frames_fn0", "set_id", "fn0"),
)
# Added by migration 5 (the server): API tokens are kept as SHA-256 digests only.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_id", String(36), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(36), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE")),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("stage", Text, nullable=False, default=""),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer),
    Column("params", Text, nullable=False, default="{}"),
    Column("result", Text),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Index("ix_jobs_project_created", "project_id", "created_at"),
    Index("ix_jobs_status", "status"),
)
