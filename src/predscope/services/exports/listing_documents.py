"""The verify listing of a row read straight from its stored document, when that is safe.

Decoding a document into ``LabelRowV2`` (every instance, annotation and answer object) costs
more than everything else a listing does, yet most prediction rows are plain: objects without
attributes on images, no classifications. For those, ``listing_from_document`` builds the same
``RowListing`` from the JSON directly (boxes without building coordinate objects at all); for any
other row it returns ``None`` and the caller decodes the row the usual way. The two agree byte for
byte (tests/services/exports/test_listing_stream.py compares them on the shipped data). The COCO
export reads plain rows the same way (``plain_objects``, ``entry_coordinates``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from predscope.exceptions import CoordinatesError
from predscope.objects.coordinates import (
    SHAPE_COORDINATES,
    BoundingBoxCoordinates,
    coordinates_from_encord,
    coordinates_to_encord,
)
from predscope.objects.label_row_metadata import unit_sequence
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.exports import listing_model as _listing

__all__ = [
    "NOT_PLAIN",
    "NotPlain",
    "ObjectKinds",
    "box_text",
    "entry_coordinates",
    "instance_text",
    "listing_from_document",
    "object_listing",
    "plain_objects",
]

_FRAME_TYPES = frozenset({"image", "img_group"})


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    feature_hash: str
    uid: int
    color: str
    shape: str


class ObjectKinds:
    """What every listed object of an ontology object repeats, looked up once per listing.

    Objects with attributes are left out: their answers need the decoded row.
    """

    def __init__(self, ontology: OntologyStructure) -> None:
        self.by_hash: dict[str, _Kind] = {}
        for obj in ontology.objects:
            if obj.attributes or obj.shape not in SHAPE_COORDINATES:
                continue
            if obj.feature_node_hash in self.by_hash:
                del self.by_hash[obj.feature_node_hash]  # ambiguous: let the decoder say so
                continue
            self.by_hash[obj.feature_node_hash] = _Kind(
                obj.name, obj.feature_node_hash, obj.uid, obj.color, str(obj.shape)
            )


class NotPlain(Exception):
    """The document needs the full decoder (or holds an error it should report)."""


# What reading a document the short way may raise: each means "decode it the usual way", where
# a real error is reported with its location.
NOT_PLAIN = (NotPlain, CoordinatesError, AttributeError, KeyError, TypeError, ValueError)


def _box(b: Any) -> tuple[dict[str, Any], str]:
    """A stored box's coordinates as the listing shows them, checked as the decoder checks."""
    c = BoundingBoxCoordinates(b["h"], b["w"], b["x"], b["y"])  # checked as the decoder does
    h, w, x, y = c.height, c.width, c.top_left_x, c.top_left_y
    return {"boundingBox": {"h": h, "w": w, "x": x, "y": y}}, box_text(h, w, x, y)


def box_text(h: float, w: float, x: float, y: float) -> str:
    """``repr`` of ``BoundingBoxCoordinates(h, w, x, y)``, without building it."""
    return f"BoundingBoxCoordinates(height={h!r}, width={w!r}, top_left_x={x!r}, top_left_y={y!r})"


def instance_text(key: str, kind: _Kind, frames: list[int]) -> str:
    """``str`` of the decoder's ``ObjectInstance`` of a plain object on ``frames`` (sorted)."""
    return f"ObjectInstance(object_hash={key!r}, object_name={kind.name!r}, frames={frames[:10]})"


def _annotation(frame: int, e: dict[str, Any]) -> _listing.AnnotationListing:
    box = e.get("boundingBox")
    if type(box) is dict:
        coordinates, text = _box(box)
    else:  # what entry_coordinates reads, in the decoder's words
        coords = coordinates_from_encord(e)
        coordinates, text = coordinates_to_encord(coords), str(coords)
    return _listing.AnnotationListing(
        frame, coordinates, text, e.get("confidence", 1.0), e.get("manualAnnotation", True)
    )


def _frames(document: dict[str, Any], data_type: str) -> list[tuple[int, list[Any]]]:
    """(frame, object entries) per data unit, in the decoder's order."""
    out: list[tuple[int, list[Any]]] = []
    image = data_type == "image"
    for unit in (document.get("data_units") or {}).values():
        labels = unit.get("labels") or {}
        if labels.get("classifications"):
            raise NotPlain
        frame = 0 if image else unit_sequence(unit)
        out.append((frame, labels.get("objects") or []))
    return out


def listing_from_document(
    head: tuple[str, str, str, str, str], document: dict[str, Any], kinds: ObjectKinds
) -> _listing.RowListing | None:
    """The listing of a plain row (``head``: title, hash, type, branch, label hash), else None."""
    try:
        return _listing.RowListing(*head, _objects(document, head[2], kinds), [])
    except NOT_PLAIN:
        return None


PlainObjects = list[tuple[str, _Kind, dict[int, dict[str, Any]]]]


def plain_objects(document: dict[str, Any], data_type: str, kinds: ObjectKinds) -> PlainObjects:
    """(object hash, kind, frame -> stored entry) in the decoder's order: first appearance,
    the last entry of an object on a frame winning. Raises ``NotPlain`` for any other row.
    """
    if not document:
        return []
    if (
        data_type not in _FRAME_TYPES
        or document.get("data_type", data_type) != data_type
        or document.get("classification_answers")
        or document.get("object_actions")
    ):
        raise NotPlain
    by_hash = kinds.by_hash
    found: dict[str, tuple[_Kind, dict[int, dict[str, Any]]]] = {}
    for frame, entries in _frames(document, data_type):
        for e in entries:
            kind = by_hash.get(e.get("featureHash"))
            if kind is None:
                raise NotPlain
            key = str(e.get("objectHash"))
            held = found.get(key)
            if held is None:
                held = found[key] = (kind, {})
            elif held[0] is not kind:
                raise NotPlain
            held[1][frame] = e
    for key, entry in (document.get("object_answers") or {}).items():
        if entry.get("classifications") or (key not in found and "range" in entry):
            raise NotPlain
    return [(key, kind, frames) for key, (kind, frames) in found.items()]


def entry_coordinates(e: dict[str, Any]) -> Any:
    """The coordinates of a stored entry, as the decoder reads them (boxes the short way)."""
    box = e.get("boundingBox")
    if type(box) is dict:
        return BoundingBoxCoordinates(box["h"], box["w"], box["x"], box["y"])
    return coordinates_from_encord(e)


def _objects(
    document: dict[str, Any], data_type: str, kinds: ObjectKinds
) -> list[_listing.ObjectListing]:
    return [
        object_listing(key, kind, entries)
        for key, kind, entries in plain_objects(document, data_type, kinds)
    ]


def object_listing(
    key: str, kind: _Kind, entries: dict[int, dict[str, Any]]
) -> _listing.ObjectListing:
    """The listing of one object of ``plain_objects``; raises one of ``NOT_PLAIN`` where the
    decoder has to read the row."""
    order = sorted(entries)
    return _listing.ObjectListing(
        key,
        kind.name,
        kind.feature_hash,
        kind.uid,
        kind.color,
        kind.shape,
        instance_text(key, kind, order),
        [_annotation(f, entries[f]) for f in order],
        [],
    )
