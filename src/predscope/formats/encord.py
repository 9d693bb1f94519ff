"""Encord label-row JSON files: read, validate against a project, write back.

Validation happens here, before anything reaches the store, so that every problem is reported
with its file, row (index and data title), object or classification hash and field, which the
objects layer alone cannot know. ``prepare_row`` also moves a row onto the project's own data
unit (its hashes and frame order): an exported file carries the hashes of the system it came from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from predscope.exceptions import ImportFormatError, PredscopeError
from predscope.objects.attributes import (
    Attribute,
    ChecklistAttribute,
    NumericAttribute,
    RadioAttribute,
    TextAttribute,
)
from predscope.objects.classification import Classification
from predscope.objects.coordinates import BitmaskCoordinates, coordinates_from_encord
from predscope.objects.frames import ranges_from_json
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure

# Geometry keys a per-frame object entry may carry, and which of them each ontology shape accepts.
SHAPE_GEOMETRY: dict[str, frozenset[str]] = {
    "bounding_box": frozenset({"boundingBox"}),
    "rotatable_bounding_box": frozenset({"rotatableBoundingBox"}),
    "polygon": frozenset({"polygon", "polygons"}),
    "polyline": frozenset({"polyline"}),
    "point": frozenset({"point"}),
    "bitmask": frozenset({"bitmask"}),
    "skeleton": frozenset({"skeleton"}),
}
GEOMETRY_KEYS: frozenset[str] = frozenset().union(*SHAPE_GEOMETRY.values()) | {
    "cuboid", "cuboid_2d", "circle", "ellipse", "segmentation"
}  # fmt: skip
# Shapes whose objects live in ``object_answers`` with a ``range`` instead of per-frame entries.
RANGE_SHAPES: frozenset[str] = frozenset({"audio", "text", "time_range"})


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


# -- validation ------------------------------------------------------------------------------


def _attribute_index(attributes: Sequence[Attribute]) -> dict[str, Attribute]:
    index: dict[str, Attribute] = {}
    for top in attributes:
        for element in top.walk():
            if isinstance(element, Attribute):
                index.setdefault(element.feature_node_hash, element)
    return index


class _RowChecker:
    """Validates one row against the ontology and the target data unit, naming every place."""

    def __init__(
        self, src: EncordRowSource, ontology: OntologyStructure, meta: LabelRowMetadata
    ) -> None:
        self.src = src
        self.ontology = ontology
        self.meta = meta
        self.data_type = meta.data_type
        self._attr_cache: dict[str, dict[str, Attribute]] = {}
        self.frame_sizes: dict[int, tuple[int | None, int | None]] = {}
        if self.data_type == "img_group":
            for i, image in enumerate(meta.images):
                self.frame_sizes[i] = (image.width, image.height)
        self.object_items: dict[str, Object] = {}

    # limits
    def frame_limit(self) -> int | None:
        """Exclusive upper bound of frame numbers (audio: milliseconds), None when unknown."""
        if self.data_type == "image":
            return 1
        if self.data_type == "img_group":
            return len(self.meta.images)
        if self.data_type == "audio":
            if self.meta.duration is None:
                return None
            return int(math.ceil(self.meta.duration * 1000.0)) + 1
        return self.meta.number_of_frames

    def attributes_of(self, item: Object | Classification) -> dict[str, Attribute]:
        cached = self._attr_cache.get(item.feature_node_hash)
        if cached is None:
            cached = _attribute_index(item.attributes)
            self._attr_cache[item.feature_node_hash] = cached
        return cached

    def lookup_object(self, feature_hash: Any, *parts: str) -> Object:
        element = self._lookup(feature_hash, *parts)
        if not isinstance(element, Object):
            raise self.src.error(
                f"featureHash {feature_hash!r} is a {type(element).__name__}, not an object",
                *parts,
                "featureHash",
                hint="use the featureNodeHash of an ontology object",
            )
        return element

    def lookup_classification(self, feature_hash: Any, *parts: str) -> Classification:
        element = self._lookup(feature_hash, *parts)
        if not isinstance(element, Classification):
            raise self.src.error(
                f"featureHash {feature_hash!r} is a {type(element).__name__}, not a classification",
                *parts,
                "featureHash",
                hint="use the featureNodeHash of an ontology classification",
            )
        return element

    def _lookup(self, feature_hash: Any, *parts: str) -> Any:
        if not isinstance(feature_hash, str):
            raise self.src.error(
                f"featureHash is missing or not a string ({feature_hash!r})", *parts, "featureHash"
            )
        try:
            return self.ontology.get_child_by_hash(feature_hash)
        except PredscopeError:
            raise self.src.error(
                f"unknown feature hash {feature_hash!r}: not in the project's ontology",
                *parts,
                "featureHash",
                hint="check `predscope ontology show` or import into the matching project",
            ) from None

    def check_ranges(self, raw: Any, *parts: str) -> None:
        try:
            ranges = ranges_from_json(raw, "range")
        except PredscopeError as exc:
            raise self.src.error(f"malformed range: {exc}", *parts, "range") from None
        limit = self.frame_limit()
        for r in ranges:
            if limit is not None and r.end >= limit:
                unit = "ms" if self.data_type == "audio" else "frame"
                raise self.src.error(
                    f"range [{r.start}, {r.end}] is outside the data unit ({unit}s 0..{limit - 1})",
                    *parts,
                    "range",
                    hint="fix the range or import into the right data unit",
                )

    # answers
    def check_answers(
        self, item: Object | Classification, answers: Any, *parts: str, dynamic: bool = False
    ) -> None:
        if not isinstance(answers, list):
            raise self.src.error("expected a list of attribute answers", *parts, "classifications")
        known = self.attributes_of(item)
        for i, answer in enumerate(answers):
            here = f"answer {i}"
            if not isinstance(answer, dict):
                raise self.src.error("attribute answer is not an object", *parts, here)
            fh = answer.get("featureHash")
            attribute = known.get(fh) if isinstance(fh, str) else None
            if attribute is None:
                raise self.src.error(
                    f"unknown attribute feature hash {fh!r} for {item.title!r}",
                    *parts,
                    here,
                    "featureHash",
                    hint="answers must use featureNodeHashes of that item's attributes",
                )
            if dynamic and not attribute.dynamic:
                raise self.src.error(
                    f"attribute {attribute.name!r} is not dynamic but appears in object_actions",
                    *parts,
                    here,
                    hint="static answers belong in object_answers",
                )
            self.check_answer_value(attribute, answer.get("answers"), *parts, here, "answers")
            if dynamic:
                self.check_ranges(answer.get("range"), *parts, here)

    def check_answer_value(self, attribute: Attribute, value: Any, *parts: str) -> None:
        if isinstance(attribute, RadioAttribute | ChecklistAttribute):
            if not isinstance(value, list):
                raise self.src.error(
                    f"{attribute.type_name} attribute {attribute.name!r} needs a list of options",
                    *parts,
                )
            if isinstance(attribute, RadioAttribute) and len(value) != 1:
                raise self.src.error(
                    f"radio attribute {attribute.name!r} needs one option, got {len(value)}",
                    *parts,
                )
            options = {o.feature_node_hash for o in attribute.options}
            for option in value:
                ofh = option.get("featureHash") if isinstance(option, dict) else None
                if ofh not in options:
                    raise self.src.error(
                        f"unknown option {ofh!r} for attribute {attribute.name!r}",
                        *parts,
                        "featureHash",
                        hint=f"options are {sorted(o.label for o in attribute.options)}",
                    )
        elif isinstance(attribute, TextAttribute) and not isinstance(value, str):
            raise self.src.error(f"text attribute {attribute.name!r} needs a string", *parts)
        elif isinstance(attribute, NumericAttribute) and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.src.error(
                f"numeric attribute {attribute.name!r} needs a finite number", *parts
            )

    # objects on frames
    def check_frame_object(self, entry: Any, frame: int, *parts: str) -> None:
        if not isinstance(entry, dict):
            raise self.src.error("object entry is not a JSON object", *parts)
        obj_hash = entry.get("objectHash")
        if not isinstance(obj_hash, str) or not obj_hash:
            raise self.src.error("objectHash is missing or not a string", *parts, "objectHash")
        here = (*parts, f"object {obj_hash}")
        item = self.lookup_object(entry.get("featureHash"), *here)
        previous = self.object_items.get(obj_hash)
        if previous is not None and previous is not item:
            raise self.src.error(
                "one objectHash is used for two different ontology objects",
                *here,
                "featureHash",
            )
        self.object_items[obj_hash] = item
        shape = str(item.shape.value)
        if "shape" in entry and entry["shape"] != shape:
            raise self.src.error(
                f"wrong shape {entry['shape']!r}: ontology object {item.name!r} is a {shape}",
                *here,
                "shape",
            )
        present = GEOMETRY_KEYS.intersection(entry)
        expected = SHAPE_GEOMETRY.get(shape, frozenset())
        if not present & expected:
            found = ", ".join(sorted(present)) or "no geometry"
            raise self.src.error(
                f"wrong shape for ontology object {item.name!r} ({shape}): entry has {found}",
                *here,
                "/".join(sorted(expected)) or shape,
                hint=f"a {shape} object needs {' or '.join(sorted(expected)) or 'a range'}",
            )
        field = "polygons" if "polygons" in present else sorted(present & expected)[0]
        try:
            coords = coordinates_from_encord(entry, "")
        except PredscopeError as exc:
            raise self.src.error(f"malformed coordinates: {exc}", *here, field) from None
        confidence = entry.get("confidence", 1.0)
        if (
            isinstance(confidence, bool)
            or not isinstance(confidence, int | float)
            or not (math.isfinite(confidence))
        ):
            raise self.src.error("confidence must be a finite number", *here, "confidence")
        if isinstance(coords, BitmaskCoordinates):
            width, height = self.frame_size(frame)
            if (
                width is not None
                and height is not None
                and (coords.width != width or coords.height != height)
            ):
                raise self.src.error(
                    f"bitmask is {coords.width}x{coords.height} but the frame is {width}x{height}",
                    *here,
                    "bitmask",
                    hint="a bitmask covers the whole frame",
                )

    def frame_size(self, frame: int) -> tuple[int | None, int | None]:
        return self.frame_sizes.get(frame, (self.meta.width, self.meta.height))

    def check_frame_labels(self, labels: Any, frame: int, *parts: str) -> None:
        if not isinstance(labels, dict):
            raise self.src.error("labels must be an object with objects/classifications", *parts)
        objects = labels.get("objects", [])
        classifications = labels.get("classifications", [])
        if not isinstance(objects, list) or not isinstance(classifications, list):
            raise self.src.error("objects and classifications must be lists", *parts, "labels")
        for i, entry in enumerate(objects):
            self.check_frame_object(entry, frame, *parts, f"objects[{i}]")
        for i, entry in enumerate(classifications):
            here = (*parts, f"classifications[{i}]")
            if not isinstance(entry, dict):
                raise self.src.error("classification entry is not a JSON object", *here)
            chash = entry.get("classificationHash")
            self.lookup_classification(entry.get("featureHash"), *here, f"classification {chash}")
            answers = self.src.data.get("classification_answers") or {}
            if chash not in answers:
                raise self.src.error(
                    f"classification {chash!r} has no entry in classification_answers",
                    *here,
                    "classificationHash",
                )


def _unit_for_frame(
    src: EncordRowSource, key: str, unit: Mapping[str, Any], meta: LabelRowMetadata
) -> int:
    """Frame index in the project's image group of one row data unit (hash, then title)."""
    for i, image in enumerate(meta.images):
        if image.image_hash == key or image.image_hash == unit.get("data_hash"):
            return i
    titles = [i for i, image in enumerate(meta.images) if image.title == unit.get("data_title")]
    if len(titles) == 1:
        return titles[0]
    raise src.error(
        f"unknown data unit {key!r} ({unit.get('data_title')!r}): no image of "
        f"{meta.data_title!r} has this hash or title",
        f"data_units[{key}]",
        hint="add the image to the group or fix the row's data_units",
    )


def prepare_row(
    src: EncordRowSource,
    ontology: OntologyStructure,
    meta: LabelRowMetadata,
    branch_name: str,
) -> dict[str, Any]:
    """Validate ``src`` for the unit ``meta``; return a copy carrying that unit's identity."""
    row = src.data
    checker = _RowChecker(src, ontology, meta)
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
            frame = _unit_for_frame(src, key, unit, meta)
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
    _check_answers_sections(src, checker)
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


def _unlabelled(src: EncordRowSource, here: tuple[str, str]) -> ImportFormatError:
    """Answers for an object with no annotation would be lost (Encord's parser refuses them)."""
    problem = f"{here[0]} has an entry for {here[1]}, which has no annotation in any frame's labels"
    hint = "fix the object hash to match a labelled object, or drop the entry"
    return src.error(problem, *here, "objectHash", hint=hint)


def _check_answers_sections(src: EncordRowSource, checker: _RowChecker) -> None:
    """``object_answers``, ``classification_answers`` and ``object_actions``."""
    row = src.data
    for section in ("object_answers", "classification_answers", "object_actions"):
        if not isinstance(row.get(section, {}), dict):
            raise src.error(f"{section} must be an object keyed by hash", section)
    for obj_hash, entry in (row.get("object_answers") or {}).items():
        here = ("object_answers", f"object {obj_hash}")
        if not isinstance(entry, dict):
            raise src.error("entry is not a JSON object", *here)
        item = checker.object_items.get(obj_hash)
        if item is None and "featureHash" in entry:
            item = checker.lookup_object(entry.get("featureHash"), *here)
            if str(item.shape.value) not in RANGE_SHAPES:
                raise src.error(
                    f"object {item.name!r} is a {item.shape.value}: it needs per-frame entries,"
                    " not a range in object_answers",
                    *here,
                    "range",
                )
            checker.check_ranges(entry.get("range"), *here)
            checker.object_items[obj_hash] = item
        if item is None:
            raise _unlabelled(src, here)  # kept, the answers would be dropped on load
        checker.check_answers(item, entry.get("classifications", []), *here)
    for chash, entry in (row.get("classification_answers") or {}).items():
        here = ("classification_answers", f"classification {chash}")
        if not isinstance(entry, dict):
            raise src.error("entry is not a JSON object", *here)
        cls = checker.lookup_classification(entry.get("featureHash"), *here)
        checker.check_answers(cls, entry.get("classifications", []), *here)
        if "range" in entry:
            checker.check_ranges(entry["range"], *here)
    for obj_hash, entry in (row.get("object_actions") or {}).items():
        here = ("object_actions", f"object {obj_hash}")
        item = checker.object_items.get(obj_hash)
        if item is None:
            raise _unlabelled(src, here)
        actions = entry.get("actions", []) if isinstance(entry, dict) else None
        checker.check_answers(item, actions, *here, dynamic=True)


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
