"""Data-unit repository: bulk add (with image-group frames) and listing.

Media stay where they are; only their metadata is stored (``data_link`` is a path or URL).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, func, select
from sqlalchemy.exc import IntegrityError

from predscope.exceptions import InvalidArgumentsError, ResourceExistsError
from predscope.store._util import chunks, dump_json, load_json, new_hash
from predscope.store.records import (
    DATA_TYPES,
    DataUnitRecord,
    ImageRecord,
    NewDataUnit,
)
from predscope.store.schema import data_unit_images, data_units
from predscope.store.types import utcnow

UNIT_COLUMNS = (
    "data_link",
    "mime_type",
    "width",
    "height",
    "number_of_frames",
    "frames_per_second",
    "duration",
    "audio_sample_rate",
    "audio_codec",
    "audio_bit_depth",
    "audio_num_channels",
)


@dataclass(frozen=True, slots=True)
class UnitKey:
    """What decides whether media are already registered: title, link, type and size."""

    id: int
    data_hash: str
    data_title: str
    data_link: str | None
    data_type: str
    width: int | None
    height: int | None


def unit_keys(conn: Connection, project_id: int) -> list[UnitKey]:
    """Every unit's identifying columns (no image frames, no JSON), in insertion order."""
    c = data_units.c
    rows = conn.execute(
        select(c.id, c.data_hash, c.data_title, c.data_link, c.data_type, c.width, c.height)
        .where(c.project_id == project_id)
        .order_by(c.id)
    )
    return [UnitKey(*row) for row in rows]


def delete_data_units(conn: Connection, unit_ids: Sequence[int]) -> int:
    """Delete units (their image frames and label rows go with them: foreign keys cascade)."""
    removed = 0
    for part in chunks(list(unit_ids)):
        removed += int(conn.execute(data_units.delete().where(data_units.c.id.in_(part))).rowcount)
    return removed


def unit_record(m: RowMapping, images: tuple[ImageRecord, ...] = ()) -> DataUnitRecord:
    """Build a record from a row holding the ``data_units`` columns (label_rows uses it too)."""
    return DataUnitRecord(
        id=m["id"],
        project_id=m["project_id"],
        data_hash=m["data_hash"],
        data_title=m["data_title"],
        data_type=m["data_type"],
        extra=load_json(m["extra"]),
        created_at=m["created_at"],
        images=images,
        **{name: m[name] for name in UNIT_COLUMNS},
    )


def _check(index: int, unit: NewDataUnit) -> None:
    where = f"data unit #{index} ({unit.data_title!r})"
    if not isinstance(unit.data_title, str) or not unit.data_title:
        raise InvalidArgumentsError(f"data unit #{index}: data_title must be a non-empty string")
    if unit.data_type not in DATA_TYPES:
        raise InvalidArgumentsError(
            f"{where}: data_type {unit.data_type!r} is not supported - use one of "
            f"{', '.join(sorted(DATA_TYPES))}"
        )
    if unit.data_type == "img_group" and not unit.images:
        raise InvalidArgumentsError(f"{where}: an image group needs at least one image")
    if unit.data_type != "img_group" and unit.images:
        raise InvalidArgumentsError(
            f"{where}: only img_group units carry images, this one is {unit.data_type!r}"
        )


def _frames(unit: NewDataUnit) -> int | None:
    if unit.number_of_frames is not None:
        return unit.number_of_frames
    if unit.data_type == "image":
        return 1
    if unit.data_type == "img_group":
        return len(unit.images)
    return None


def add_data_units(
    conn: Connection, project_id: int, units: Sequence[NewDataUnit]
) -> list[DataUnitRecord]:
    """Insert ``units`` in bulk (one executemany per table); returns them in the given order."""
    if not units:
        return []
    now = utcnow()
    unit_rows: list[dict[str, Any]] = []
    hashes: list[str] = []
    for index, unit in enumerate(units):
        _check(index, unit)
        data_hash = unit.data_hash or new_hash()
        hashes.append(data_hash)
        row = {name: getattr(unit, name) for name in UNIT_COLUMNS}
        row.update(
            project_id=project_id,
            data_hash=data_hash,
            data_title=unit.data_title,
            data_type=unit.data_type,
            number_of_frames=_frames(unit),
            extra=dump_json(dict(unit.extra or {})),
            created_at=now,
        )
        if unit.data_type == "img_group" and unit.width is None and unit.images:
            row["width"], row["height"] = unit.images[0].width, unit.images[0].height
        unit_rows.append(row)
    if len(set(hashes)) != len(hashes):
        raise ResourceExistsError(
            "data units: the same data_hash is given twice in one call - give each unit its own"
        )
    given = [u.data_hash for u in units if u.data_hash]
    taken = _ids_by_hash(conn, project_id, given) if given else {}
    if taken:
        raise ResourceExistsError(
            f"project id {project_id}: data_hash {next(iter(taken))!r} is already in the project - "
            "leave data_hash unset to get a fresh one"
        )
    try:
        conn.execute(data_units.insert(), unit_rows)
    except IntegrityError as exc:
        raise ResourceExistsError(
            f"project id {project_id}: one of the {len(units)} data units has a data_hash that is "
            "already in the project - leave data_hash unset to get a fresh one"
        ) from exc
    ids = _ids_by_hash(conn, project_id, hashes)
    image_rows = [
        {
            "data_unit_id": ids[data_hash],
            "frame": frame,
            "image_hash": image.image_hash or new_hash(),
            "title": image.title,
            "data_link": image.data_link,
            "mime_type": image.mime_type,
            "width": image.width,
            "height": image.height,
        }
        for unit, data_hash in zip(units, hashes, strict=True)
        for frame, image in enumerate(unit.images)
    ]
    if image_rows:
        conn.execute(data_unit_images.insert(), image_rows)
    by_hash = {u.data_hash: u for u in list_data_units(conn, project_id, data_hashes=hashes)}
    return [by_hash[h] for h in hashes]


def _ids_by_hash(conn: Connection, project_id: int, hashes: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(hashes):
        rows = conn.execute(
            select(data_units.c.data_hash, data_units.c.id).where(
                data_units.c.project_id == project_id, data_units.c.data_hash.in_(part)
            )
        )
        found.update({h: i for h, i in rows})
    return found


def images_for(conn: Connection, unit_ids: Iterable[int]) -> dict[int, tuple[ImageRecord, ...]]:
    """Image-group frames per data unit id, in frame order."""
    wanted = sorted(set(unit_ids))
    out: dict[int, list[ImageRecord]] = defaultdict(list)
    for part in chunks(wanted):
        rows = conn.execute(
            select(data_unit_images)
            .where(data_unit_images.c.data_unit_id.in_(part))
            .order_by(data_unit_images.c.data_unit_id, data_unit_images.c.frame)
        )
        for r in rows.mappings():
            out[r["data_unit_id"]].append(
                ImageRecord(
                    image_hash=r["image_hash"],
                    frame=r["frame"],
                    title=r["title"],
                    width=r["width"],
                    height=r["height"],
                    data_link=r["data_link"],
                    mime_type=r["mime_type"],
                )
            )
    return {k: tuple(v) for k, v in out.items()}


def count_data_units(conn: Connection, project_id: int) -> int:
    """How many units the project holds (one SQL count)."""
    query = select(func.count()).select_from(data_units)
    return int(conn.execute(query.where(data_units.c.project_id == project_id)).scalar_one())


def list_data_units(
    conn: Connection,
    project_id: int,
    *,
    data_hashes: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[DataUnitRecord]:
    """Units in insertion order, optionally restricted by data hash and/or exact title;
    ``offset``/``limit`` page the unrestricted listing in SQL."""
    base: Select[Any] = select(data_units).where(data_units.c.project_id == project_id)
    if titles is not None:
        base = base.where(data_units.c.data_title.in_(list(titles)))
    rows: list[RowMapping] = []
    if data_hashes is None:
        ordered = base.order_by(data_units.c.id).offset(offset)
        if limit is not None:
            ordered = ordered.limit(limit)
        rows = list(conn.execute(ordered).mappings())
    else:
        for part in chunks(list(data_hashes)):
            rows.extend(conn.execute(base.where(data_units.c.data_hash.in_(part))).mappings())
        rows.sort(key=lambda m: int(m["id"]))
    group_ids = [m["id"] for m in rows if m["data_type"] == "img_group"]
    images = images_for(conn, group_ids) if group_ids else {}
    return [unit_record(m, images.get(m["id"], ())) for m in rows]
