"""Version 4: stored analysis runs - prediction sets, runs, per-object outcomes, per-frame counts.

Frozen on purpose (see m0001): the definitions below describe version 4 whatever
``store/schema.py`` says later. One object row holds its outcome, matched partner and IoU at each
of the ten COCO thresholds as columns ``o0..o9``, ``p0..p9``, ``i0..i9``, so any threshold is a
plain predicate, and one index per threshold serves "outcome X at IoU t, by confidence".
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
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from predscope.store.types import UTCDateTime

THRESHOLDS = 10


def _tables(md: MetaData) -> list[Table]:
    sets = Table(
        "analysis_sets",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        Column("branch_name", String(200), nullable=False),
        Column("against", String(200), nullable=False),
        Column("latest_run_id", Integer),
        Column("review_status", String(20), nullable=False),
        Column("notes", Text, nullable=False),
        Column("state", LargeBinary),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        UniqueConstraint("project_id", "branch_name", "against", name="uq_analysis_sets_branch"),
    )
    runs = Table(
        "analysis_runs",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
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
    rows = Table(
        "analysis_rows",
        md,
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
        Column("side", SmallInteger, nullable=False),
        Column("data_unit_id", Integer, nullable=False),
        Column("label_hash", String(36)),
        Column("edited_at", UTCDateTime),
        Column("version", Integer),
        UniqueConstraint("set_id", "side", "data_unit_id", name="uq_analysis_rows_unit"),
    )
    per_t = [
        c
        for t in range(THRESHOLDS)
        for c in (
            Column(f"o{t}", SmallInteger, nullable=False),
            Column(f"p{t}", Integer),
            Column(f"i{t}", Float),
        )
    ]
    objects = Table(
        "analysis_objects",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
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
        *per_t,
        *[
            Index(f"ix_analysis_objects_t{t}", "set_id", "kind", f"o{t}", "confidence", "class_id")
            for t in range(THRESHOLDS)
        ],
        Index("ix_analysis_objects_class", "set_id", "kind", "class_id", "confidence"),
        Index("ix_analysis_objects_unit", "set_id", "data_unit_id", "frame", "kind", "seq"),
    )
    attributes = Table(
        "analysis_attributes",
        md,
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
        Column("kind", SmallInteger, nullable=False),
        Column("data_unit_id", Integer, nullable=False),
        Column("frame", Integer, nullable=False),
        Column("seq", Integer, nullable=False),
        Column("name", String(400), nullable=False),
        Column("value", String(400), nullable=False),
        Index("ix_analysis_attributes_value", "set_id", "name", "value"),
        Index("ix_analysis_attributes_unit", "set_id", "data_unit_id"),
    )
    counts = [
        Column(f"{name}{t}", Integer, nullable=False)
        for t in range(THRESHOLDS)
        for name in ("tp", "fp", "fn")
    ]
    frames = Table(
        "analysis_frames",
        md,
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
        Column("data_unit_id", Integer, nullable=False),
        Column("frame", Integer, nullable=False),
        Column("width", Integer, nullable=False),
        Column("height", Integer, nullable=False),
        Column("num_gt", Integer, nullable=False),
        Column("num_predictions", Integer, nullable=False),
        *counts,
        UniqueConstraint("set_id", "data_unit_id", "frame", name="uq_analysis_frames_frame"),
        Index("ix_analysis_frames_fp0", "set_id", "fp0"),
        Index("ix_analysis_frames_fn0", "set_id", "fn0"),
    )
    return [sets, runs, rows, objects, attributes, frames]


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("projects", md, autoload_with=conn)
    for table in _tables(md):
        table.create(conn)
