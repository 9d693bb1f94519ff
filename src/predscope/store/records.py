"""Frozen records the store hands out, so callers never hold live ORM state or SQL rows.

The store sits below nothing but ``exceptions``: it knows label rows only as JSON documents (dicts),
and the services layer maps these records onto ``LabelRowMetadata`` and friends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

DATA_TYPES: frozenset[str] = frozenset({"image", "video", "img_group", "audio"})
DEFAULT_LABEL_STATUS = "NOT_LABELLED"


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    project_hash: str
    title: str
    description: str
    ontology: dict[str, Any]
    created_at: datetime
    last_edited_at: datetime


@dataclass(frozen=True, slots=True)
class NewImage:
    """One image of an image group, in frame order, before it is stored."""

    title: str
    width: int
    height: int
    data_link: str | None = None
    mime_type: str | None = None
    image_hash: str | None = None


@dataclass(frozen=True, slots=True)
class NewDataUnit:
    """A data unit to add; ``data_hash`` is generated (uuid4) when not given."""

    data_title: str
    data_type: str
    data_link: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    number_of_frames: int | None = None
    frames_per_second: float | None = None
    duration: float | None = None
    audio_sample_rate: int | None = None
    audio_codec: str | None = None
    audio_bit_depth: int | None = None
    audio_num_channels: int | None = None
    extra: Mapping[str, Any] | None = None
    images: Sequence[NewImage] = ()
    data_hash: str | None = None


@dataclass(frozen=True, slots=True)
class ImageRecord:
    image_hash: str
    frame: int
    title: str
    width: int
    height: int
    data_link: str | None
    mime_type: str | None


@dataclass(frozen=True, slots=True)
class DataUnitRecord:
    id: int
    project_id: int
    data_hash: str
    data_title: str
    data_type: str
    data_link: str | None
    mime_type: str | None
    width: int | None
    height: int | None
    number_of_frames: int | None
    frames_per_second: float | None
    duration: float | None
    audio_sample_rate: int | None
    audio_codec: str | None
    audio_bit_depth: int | None
    audio_num_channels: int | None
    extra: dict[str, Any]
    created_at: datetime
    images: tuple[ImageRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class RowRecord:
    """What the store knows of one (data unit, branch); ``label_hash`` None: no row there yet."""

    unit: DataUnitRecord
    branch_name: str
    label_hash: str | None
    label_status: str
    created_at: datetime | None
    last_edited_at: datetime | None
    object_count: int = 0
    classification_count: int = 0
    version: int = 0  # 1 when created, +1 on every write; 0: no row there yet

    @property
    def data_hash(self) -> str:
        return self.unit.data_hash

    @property
    def data_title(self) -> str:
        return self.unit.data_title


class ListedUnit(NamedTuple):
    """What an analysis reads of a data unit: identity, type, frame sizes. A tuple, not a
    ``DataUnitRecord``: a run lists every unit, and its JSON, links and times go unread."""

    id: int
    data_hash: str
    data_title: str
    data_type: str
    width: int | None
    height: int | None
    number_of_frames: int | None
    images: tuple[ImageRecord, ...] = ()


class ListedRow(NamedTuple):
    """A ``RowRecord`` cut to what an analysis reads (``branch_rows.list_branch_rows``).

    ``edited_at`` is the row's last edit only where it has no version (0), else None: the
    change marker (``RowState``, the fingerprints) reads the edit time only there. The
    defaults describe a unit the branch holds no row for, as ``RowRecord``'s do."""

    unit: ListedUnit
    branch_name: str
    label_hash: str | None = None
    object_count: int = 0
    classification_count: int = 0
    version: int = 0
    edited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImportRecord:
    id: int
    project_id: int
    branch_name: str
    kind: str
    source_name: str
    sha256: str
    created_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One removal or rename in a project's history (who: ``actor``; from where: ``origin``)."""

    id: int
    project_hash: str
    project_title: str
    action: str
    subject: str
    details: dict[str, Any]
    actor: str
    origin: str
    created_at: datetime
