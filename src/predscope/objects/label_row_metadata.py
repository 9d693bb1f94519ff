"""What the store knows about one (data unit, branch) before its labels are read.

Also holds the date helpers shared by the label-row modules: Encord writes label times as
``%a, %d %b %Y %H:%M:%S UTC``; readers accept that, the ``GMT`` variant, ``YYYY-MM-DD HH:MM:SS`` and
ISO-8601. Label times are kept as the exact strings read so that rows round-trip byte for byte.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

ENCORD_TIME_FORMAT = "%a, %d %b %Y %H:%M:%S UTC"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    """One image of an image group; its position in ``LabelRowMetadata.images`` is its frame."""

    image_hash: str
    title: str = ""
    width: int | None = None
    height: int | None = None
    data_link: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRowMetadata:
    """``label_hash`` is None until the row exists on its branch. ``data_type`` is lower case."""

    label_hash: str | None = None
    branch_name: str = "main"
    data_hash: str
    data_title: str = ""
    data_type: str = "image"
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
    dataset_hash: str | None = None
    dataset_title: str | None = None
    label_status: str = "NOT_LABELLED"
    created_at: datetime | None = None
    last_edited_at: datetime | None = None
    images: tuple[ImageInfo, ...] = ()


def format_time(value: datetime | str | None) -> str | None:
    """Encord's label-time string; strings pass through unchanged."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(ENCORD_TIME_FORMAT)


_FORMATS = (
    ENCORD_TIME_FORMAT,
    "%a, %d %b %Y %H:%M:%S GMT",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%Y-%m-%d %H:%M:%S",
)


def parse_time(value: datetime | str | None) -> datetime | None:
    """A UTC datetime from any accepted form; None when absent or unreadable."""
    if value is None or isinstance(value, datetime):
        return value
    for fmt in _FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_now_cache: list[object] = [-1, ""]


def now_string() -> str:
    """The current time in Encord's format, recomputed at most once a second (hot path)."""
    second = int(time.time())
    if _now_cache[0] != second:
        _now_cache[0] = second
        _now_cache[1] = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(second))
    return str(_now_cache[1])
