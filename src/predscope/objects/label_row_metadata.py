"""What the store knows about one (data unit, branch) before its labels are read.

Also holds the date helpers shared by the label-row modules: Encord writes label times as
``%a, %d %b %Y %H:%M:%S UTC``; readers accept that, the ``GMT`` variant, ``YYYY-MM-DD HH:MM:SS`` and
ISO-8601. Label times are kept as the exact strings read so that rows round-trip byte for byte.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


# -- JSON <-> metadata -------------------------------------------------------------------------


def unit_sequence(unit: dict[str, Any]) -> int:
    try:
        return int(unit.get("data_sequence", 0))
    except (TypeError, ValueError):
        return 0


def metadata_from_dict(d: dict[str, Any]) -> LabelRowMetadata:
    """Best-effort metadata for a row read from JSON alone (no store)."""
    units = d.get("data_units") or {}
    data_type = str(d.get("data_type", "image"))
    ordered = sorted(units.items(), key=lambda kv: unit_sequence(kv[1]))
    first: dict[str, Any] = ordered[0][1] if ordered else {}
    images: tuple[ImageInfo, ...] = ()
    frames: int | None = None
    if data_type == "img_group":
        images = tuple(
            ImageInfo(
                image_hash=key,
                title=str(u.get("data_title", "")),
                width=u.get("width"),
                height=u.get("height"),
                data_link=u.get("data_link"),
                mime_type=u.get("data_type"),
            )
            for key, u in ordered
        )
        frames = len(images)
    elif data_type == "image":
        frames = 1
    return LabelRowMetadata(
        label_hash=d.get("label_hash"),
        branch_name=str(d.get("branch_name") or "main"),
        data_hash=str(d.get("data_hash", "")),
        data_title=str(d.get("data_title", "")),
        data_type=data_type,
        data_link=first.get("data_link"),
        mime_type=first.get("data_type"),
        width=first.get("width"),
        height=first.get("height"),
        number_of_frames=frames,
        frames_per_second=first.get("data_fps"),
        duration=first.get("data_duration"),
        audio_sample_rate=first.get("audio_sample_rate"),
        audio_codec=first.get("audio_codec"),
        audio_bit_depth=first.get("audio_bit_depth"),
        audio_num_channels=first.get("audio_num_channels"),
        dataset_hash=d.get("dataset_hash"),
        dataset_title=d.get("dataset_title"),
        label_status=str(d.get("label_status") or "NOT_LABELLED"),
        created_at=parse_time(d.get("created_at")),
        last_edited_at=parse_time(d.get("last_edited_at")),
        images=images,
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


UnitList = list[tuple[str, dict[str, Any], int | None]]
_NO_FRAME_TYPES = frozenset({"audio", "plain_text", "time_series"})


def units_from_metadata(md: LabelRowMetadata) -> tuple[UnitList, dict[int, tuple[int, int]]]:
    """Data units (key, unit JSON without labels, frame or None) and (height, width) per frame.

    Frame ``-1`` in the sizes means "every frame" (videos). Used for rows with no stored JSON yet.
    """
    units: UnitList = []
    sizes: dict[int, tuple[int, int]] = {}
    if md.data_type == "img_group":
        for i, image in enumerate(md.images):
            image_unit = {
                "data_hash": image.image_hash,
                "data_title": image.title,
                "data_type": image.mime_type,
                "data_sequence": str(i),
                "data_link": image.data_link,
                "width": image.width,
                "height": image.height,
            }
            units.append((image.image_hash, _drop_none(image_unit), i))
            if image.width is not None and image.height is not None:
                sizes[i] = (image.height, image.width)
        return units, sizes
    unit: dict[str, Any] = {
        "data_hash": md.data_hash,
        "data_title": md.data_title,
        "data_type": md.mime_type,
        "data_sequence": 0,
        "data_link": md.data_link,
    }
    if md.data_type in _NO_FRAME_TYPES:
        unit["audio_codec"] = md.audio_codec
        unit["audio_sample_rate"] = md.audio_sample_rate
        unit["audio_bit_depth"] = md.audio_bit_depth
        unit["audio_num_channels"] = md.audio_num_channels
        unit["data_duration"] = md.duration
    else:
        unit["width"] = md.width
        unit["height"] = md.height
        if md.data_type != "image":
            unit["data_fps"] = md.frames_per_second
            unit["data_duration"] = md.duration
    frame = 0 if md.data_type == "image" else None
    units.append((md.data_hash, _drop_none(unit), frame))
    if md.width is not None and md.height is not None:
        sizes[0 if frame == 0 else -1] = (md.height, md.width)
    return units, sizes
