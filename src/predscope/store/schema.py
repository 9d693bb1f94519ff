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
    text,
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
    # Added by migration 10: the evaluated geometry as columns (``formats.row_geometry``),
    # written with the document (NULL: read the document).
    Column("geometry", LargeBinary),
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
# Migration 7 moved the match records (``records.Records`` as npz, megabytes) out of
# ``analysis_sets``: SQLite walked their overflow pages to read the set row's later columns.
analysis_states = Table(
    "analysis_states",
    metadata,
    Column(
        "set_id",
        Integer,
        ForeignKey("analysis_sets.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
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
_PER_THRESHOLD = [
    c
    for t in range(ANALYSIS_THRESHOLDS)
    for c in (
        Column(f"o{t}", SmallInteger, nullable=False),
        Column(f"p{t}", Integer),
        Column(f"i{t}", Float),
    )
]
# Migration 7: what the query layer reads (``store.analysis_query``): filters on the signature
# and class answered inside an index, one ordered covering index per sort key (ties by class and
# id, as the pages order them) and, per threshold, the matched objects only, by IoU.
QUERY_INDEXES = (
    Index("ix_analysis_objects_sig", "set_id", "kind", "sig", "confidence", "class_id", "id"),
    Index(
        "ix_analysis_objects_class",
        *("set_id", "kind", "class_id", "confidence", "sig", "data_unit_id", "frame"),
    ),
    Index("ix_analysis_objects_conf", "set_id", "kind", "confidence", "class_id", "id", "sig"),
    Index("ix_analysis_objects_area", "set_id", "kind", "area_px", "class_id", "id", "sig"),
    *[
        Index(
            f"ix_analysis_objects_iou{t}",
            "set_id",
            "kind",
            f"i{t}",
            "class_id",
            "id",
            "sig",
            sqlite_where=text(f"i{t} IS NOT NULL"),
            postgresql_where=text(f"i{t} IS NOT NULL"),
        )
        for t in range(ANALYSIS_THRESHOLDS)
    ],
)
analysis_objects = Table(
    "analysis_objects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("data_unit_id", Integer, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("object_hash", String(64), nullable=False),
    Column("class_id", SmallInteger, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("w", Float, nullable=False),
    Column("h", Float, nullable=False),
    Column("area_px", Float, nullable=False),
    Column("area_share", Float, nullable=False),
    Column("aspect_ratio", Float),
    Column("border_distance_px", Float, nullable=False),
    Column("border_distance_share", Float, nullable=False),
    Column("objects_in_image", Integer, nullable=False),
    Column("error_type", SmallInteger, nullable=False),
    Column("best_iou_any", Float),
    *_PER_THRESHOLD,
    # Added by migration 7 (see m0007_query): error type and the outcomes at all ten thresholds
    # in one integer, error * 5**10 + sum(o<t> * 5**t); replaces the ten per-threshold indexes.
    Column("sig", Integer, nullable=False, server_default="0"),
    # Migration 8 added ``sig``: comparing two sets reads both sets' outcomes from it alone.
    Index("ix_analysis_objects_unit", "set_id", "data_unit_id", "frame", "kind", "seq", "sig"),
    *QUERY_INDEXES,
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
# Added by migration 7: how many objects of a set have each (kind, signature, class); exact
# totals of outcome / error / class filters without counting rows. Written with the objects.
analysis_counts = Table(
    "analysis_counts",
    metadata,
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("sig", Integer, nullable=False),
    Column("class_id", SmallInteger, nullable=False),
    Column("n", Integer, nullable=False),
    UniqueConstraint("set_id", "kind", "sig", "class_id", name="uq_analysis_counts_key"),
)
# Added by migration 7: per (kind, sig), objects per bucket of confidence (dim 0) and of area
# (dim 1; buckets in store.analysis_objects.HISTOGRAM_EDGES), for exact range totals.
analysis_histograms = Table(
    "analysis_histograms",
    metadata,
    Column("set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("dim", SmallInteger, nullable=False),
    Column("sig", Integer, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("n", Integer, nullable=False),
    UniqueConstraint("set_id", "kind", "dim", "sig", "bucket", name="uq_analysis_histograms_key"),
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
