"""Validation of one Encord label row against the project's ontology and target data unit.

``formats.encord.prepare_row`` drives these checks; they live apart from file reading because they
are most of the code. Every failure names the file, row, frame, object or classification hash and
field, which the objects layer alone cannot know.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # the row source lives with the file reader, which imports this module
    from predscope.formats.encord import EncordRowSource

__all__ = [
    "GEOMETRY_KEYS",
    "RANGE_SHAPES",
    "SHAPE_GEOMETRY",
    "RowChecker",
    "check_answers_sections",
    "unit_for_frame",
]

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


def _attribute_index(attributes: Sequence[Attribute]) -> dict[str, Attribute]:
    index: dict[str, Attribute] = {}
    for top in attributes:
        for element in top.walk():
            if isinstance(element, Attribute):
                index.setdefault(element.feature_node_hash, element)
    return index


class RowChecker:
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


def unit_for_frame(
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


def _unlabelled(src: EncordRowSource, here: tuple[str, str]) -> ImportFormatError:
    """Answers for an object with no annotation would be lost (Encord's parser refuses them)."""
    problem = f"{here[0]} has an entry for {here[1]}, which has no annotation in any frame's labels"
    hint = "fix the object hash to match a labelled object, or drop the entry"
    return src.error(problem, *here, "objectHash", hint=hint)


def check_answers_sections(src: EncordRowSource, checker: RowChecker) -> None:
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
