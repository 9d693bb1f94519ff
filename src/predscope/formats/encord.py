"""Encord label-row JSON files: read, validate against a project, write back.

Validation happens before anything reaches the store, so that every problem is reported with its
file, row (index and data title), object or classification hash and field, which the objects layer
alone cannot know (the checks are in ``formats.encord_checks``; their names are re-exported here).
``prepare_row`` also moves a row onto the project's own data unit (its hashes and frame order): an
exported file carries the hashes of the system it came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from predscope.exceptions import ImportFormatError
from predscope.formats.encord_checks import (
    GEOMETRY_KEYS,
    RANGE_SHAPES,
    SHAPE_GEOMETRY,
    RowChecker,
    check_answers_sections,
    unit_for_frame,
)
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure

__all__ = [
    "GEOMETRY_KEYS",
    "RANGE_SHAPES",
    "SHAPE_GEOMETRY",
    "EncordRowSource",
    "count_labels",
    "dumps_label_rows",
    "parse_label_rows",
    "prepare_row",
    "read_label_row_file",
    "read_label_row_files",
    "row_hashes",
    "row_image_hashes",
    "write_label_rows",
]


@dataclass(frozen=True, slots=True)
class EncordRowSource:
    """One label row as read from a file, with where it came from (for error messages)."""

    source: str
    index: int
    data: dict[str, Any]

    @property
    def data_title(self) -> str:
        title = self.data.get("data_title")
        return title if isinstance(title, str) else ""

    def where(self, *parts: str) -> str:
        """``row 2 ('cat.jpg'), object abc, field boundingBox`` — the location part of an error."""
        head = f"row {self.index}"
        if self.data_title:
            head += f" ({self.data_title!r})"
        return ", ".join([head, *[p for p in parts if p]])

    def error(self, problem: str, *parts: str, hint: str = "") -> ImportFormatError:
        return ImportFormatError(self.source, self.where(*parts), problem, hint)


# -- reading and writing files ---------------------------------------------------------------


def parse_label_rows(text: str, source: str) -> list[EncordRowSource]:
    """Rows from JSON text: a single label row or a list of them, as Encord exports them."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = _located_parse(text, source)
    return _rows_of(data, source)


def _located_parse(text: str, source: str) -> Any:
    """Parse again with the standard library, whose errors carry line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            source,
            f"line {exc.lineno}, column {exc.colno}",
            f"malformed JSON: {exc.msg}",
            "fix the file (a label row object or a list of them) and import again",
        ) from None


def _rows_of(data: Any, source: str) -> list[EncordRowSource]:
    items = data if isinstance(data, list) else [data]
    rows: list[EncordRowSource] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("data_units"), dict):
            kind = (
                type(item).__name__ if not isinstance(item, dict) else "object without data_units"
            )
            raise ImportFormatError(
                source,
                f"row {index}",
                f"not an Encord label row (got a {kind})",
                "each row needs data_units, object_answers and classification_answers",
            )
        rows.append(EncordRowSource(source, index, item))
    return rows


def read_label_row_file(path: str | Path) -> list[EncordRowSource]:
    """Read one file; unreadable or malformed files raise ``ImportFormatError`` naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(
            str(p), "", f"cannot read the file ({exc})", "check the path"
        ) from None
    return parse_label_rows(text, str(p))


def read_label_row_files(paths: Iterable[str | Path]) -> list[EncordRowSource]:
    rows: list[EncordRowSource] = []
    for path in paths:
        rows.extend(read_label_row_file(path))
    return rows


def dumps_label_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """JSON text of a list of rows; numbers are written as Python reads them back, unchanged."""
    return json.dumps(list(rows), indent=1, ensure_ascii=False) + "\n"


def write_label_rows(rows: Sequence[Mapping[str, Any]], out: str | Path | IO[str]) -> None:
    """Write rows as one JSON list (``read_label_row_file`` reads it back)."""
    text = dumps_label_rows(rows)
    if isinstance(out, str | Path):
        Path(out).write_text(text, encoding="utf-8")
    else:
        out.write(text)


# -- matching a row to a data unit -----------------------------------------------------------


def row_hashes(row: Mapping[str, Any]) -> list[str]:
    """Data hashes a row may be known by: the top-level one, then its data unit keys."""
    out: list[str] = []
    top = row.get("data_hash")
    if isinstance(top, str):
        out.append(top)
    units = row.get("data_units")
    if isinstance(units, dict) and row.get("data_type") != "img_group":
        out.extend(k for k in units if k not in out)
    return out


def row_image_hashes(row: Mapping[str, Any]) -> list[str]:
    units = row.get("data_units")
    return list(units) if isinstance(units, dict) else []


def prepare_row(
    src: EncordRowSource,
    ontology: OntologyStructure,
    meta: LabelRowMetadata,
    branch_name: str,
) -> dict[str, Any]:
    """Validate ``src`` for the unit ``meta``; return a copy carrying that unit's identity."""
    row = src.data
    checker = RowChecker(src, ontology, meta)
    if row.get("data_type") is not None and row.get("data_type") != meta.data_type:
        raise src.error(
            f"data_type {row.get('data_type')!r} does not match the project's data unit "
            f"{meta.data_title!r} ({meta.data_type})",
            "data_type",
            hint="import the row into a project whose data unit has the same kind of media",
        )
    units: dict[str, Any] = row["data_units"]
    new_units: dict[str, Any] = {}
    if meta.data_type == "img_group":
        seen: dict[int, str] = {}
        for key, unit in units.items():
            if not isinstance(unit, dict):
                raise src.error("data unit is not a JSON object", f"data_units[{key}]")
            frame = unit_for_frame(src, key, unit, meta)
            if frame in seen:
                raise src.error(
                    f"data units {seen[frame]!r} and {key!r} both match frame {frame}",
                    f"data_units[{key}]",
                )
            seen[frame] = key
            checker.check_frame_labels(unit.get("labels", {}), frame, f"frame {frame}")
            image = meta.images[frame]
            new_unit = dict(unit)
            new_unit.update(
                data_hash=image.image_hash,
                data_title=image.title,
                data_sequence=str(frame),
                width=image.width,
                height=image.height,
            )
            new_units[image.image_hash] = new_unit
    else:
        if len(units) != 1:
            raise src.error(
                f"a {meta.data_type} row has exactly one data unit, this one has {len(units)}",
                "data_units",
            )
        ((key, unit),) = units.items()
        if not isinstance(unit, dict):
            raise src.error("data unit is not a JSON object", f"data_units[{key}]")
        labels = unit.get("labels", {})
        if meta.data_type == "video":
            if not isinstance(labels, dict):
                raise src.error("video labels must map frame numbers to labels", "labels")
            limit = checker.frame_limit()
            for frame_key, frame_labels in labels.items():
                if not str(frame_key).isdigit():
                    raise src.error(f"frame key {frame_key!r} is not a frame number", "labels")
                frame = int(frame_key)
                if limit is not None and frame >= limit:
                    raise src.error(
                        f"frame {frame} is outside the video (frames 0..{limit - 1})",
                        f"frame {frame}",
                        hint="import into the matching video or drop the frame",
                    )
                checker.check_frame_labels(frame_labels, frame, f"frame {frame}")
        elif meta.data_type != "audio":
            checker.check_frame_labels(labels, 0, "frame 0")
        new_unit = dict(unit)
        new_unit.update(data_hash=meta.data_hash, data_title=meta.data_title)
        if meta.width is not None:
            new_unit["width"] = meta.width
        if meta.height is not None:
            new_unit["height"] = meta.height
        new_units[meta.data_hash] = new_unit
    check_answers_sections(src, checker)
    # Shallow: only the top level and the unit dicts are rewritten; nested values are shared
    # read-only with the source (the decoder copies what it keeps).
    out = {k: v for k, v in row.items() if k != "data_units"}
    out["data_units"] = new_units
    out.update(
        data_hash=meta.data_hash,
        data_title=meta.data_title,
        data_type=meta.data_type,
        branch_name=branch_name,
        label_hash=meta.label_hash,
    )
    return out


def count_labels(row: Mapping[str, Any]) -> tuple[int, int]:
    """(object instances, classification instances) in a prepared row, for dry-run reports."""
    objects: set[str] = set()
    classifications: set[str] = set(row.get("classification_answers") or {})
    for unit in (row.get("data_units") or {}).values():
        labels = unit.get("labels") or {}
        frames = labels.values() if row.get("data_type") == "video" else [labels]
        for frame in frames:
            for entry in frame.get("objects", []) if isinstance(frame, dict) else []:
                objects.add(entry["objectHash"])
            for entry in frame.get("classifications", []) if isinstance(frame, dict) else []:
                classifications.add(entry["classificationHash"])
    for obj_hash, entry in (row.get("object_answers") or {}).items():
        if isinstance(entry, dict) and "range" in entry:
            objects.add(obj_hash)
    return len(objects), len(classifications)
