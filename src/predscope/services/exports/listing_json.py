"""``predscope labels --json`` at speed: plain rows written from templates, straight from JSON.

Listing a plain row (``listing_documents``) builds a ``RowListing`` of dataclasses, and
``json_text.write_json_array`` then walks every value of each; on a branch of 300,000 box
predictions that walk was most of the listing's time, although every box object has the same
shape: five strings and an int, one annotation per frame with a ``boundingBox`` of four numbers,
no attributes. ``iter_listing_json`` gives a plain row as its finished text (``json_text.Raw``)
instead: box objects are filled into templates straight from the stored entries, any other
object of a plain row is listed by ``listing_documents.object_listing`` and encoded as before,
and a row that is not plain is decoded and yielded as its ``RowListing``. The templates are not
written by hand: they are the encoder's own text of sample objects whose values are markers,
cut at the markers. tests/services/exports/test_listing_json.py compares the bytes with
``write_json_array(iter_listing(...))`` on the shipped and on generated rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from predscope.formats.json_text import Raw, encode_indented
from predscope.objects.coordinates import TOLERANCE, BoundingBoxCoordinates
from predscope.services.exports.listing import BATCH_ROWS, existing_records, listed_rows
from predscope.services.exports.listing_documents import (
    NOT_PLAIN,
    ObjectKinds,
    box_text,
    instance_text,
    object_listing,
    plain_objects,
)
from predscope.services.exports.listing_model import AnnotationListing, ObjectListing, RowListing

if TYPE_CHECKING:
    from predscope.store.engine import Store
    from predscope.store.records import ProjectRecord

__all__ = ["iter_listing_json", "row_json"]

# Rows are items of the top-level array (level 1), their objects items of a field (level 3),
# an object's annotations items of its field (level 5).
_ROW_LEVEL, _OBJECT_LEVEL, _ANNOTATION_LEVEL = 1, 3, 5
_BOX_KEYS = ["h", "w", "x", "y"]
_LO, _HI = -TOLERANCE, 1.0 + TOLERANCE  # the range BoundingBoxCoordinates accepts as it is


def _marker(i: int) -> str:
    return f"@@hole{i}@@"


def _cut(text: str, holes: int) -> tuple[str, ...]:
    """``text`` cut at the encoded markers 0..holes-1, which must stand in that order once."""
    pieces: list[str] = []
    rest = text
    for i in range(holes):
        marker = encode_basestring(_marker(i))
        before, found, rest = rest.partition(marker)
        if not found or marker in rest:
            raise AssertionError(f"template marker {i} not found once")  # pragma: no cover
        pieces.append(before)
    pieces.append(rest)
    return tuple(pieces)


class _Hole:
    """A marker that ``repr`` writes bare, to cut ``box_text``'s own format into a template."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _templates() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The object template (holes: hash, the kind's five fields, instance text, annotations)
    and the box annotation template (holes: frame, h, w, x, y, then h, w, x, y again inside the
    coordinates text, confidence, manual)."""
    m = [_marker(i) for i in range(12)]
    obj = ObjectListing(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], [])  # type: ignore[arg-type]
    box = dict(zip(_BOX_KEYS, m[1:5], strict=True))
    text = box_text(*(_Hole(n) for n in m[5:9]))  # type: ignore[arg-type]
    if encode_basestring(text) != f'"{text}"':
        raise AssertionError("the box text needs escaping")  # pragma: no cover
    ann = AnnotationListing(m[0], {"boundingBox": box}, text, m[9], m[10])  # type: ignore[arg-type]
    ann_text = encode_indented(ann, _ANNOTATION_LEVEL)
    for i in range(5, 9):  # the coordinates text's holes, bare, as if encoded markers
        ann_text = ann_text.replace(m[i], encode_basestring(m[i]), 1)
    return _cut(encode_indented(obj, _OBJECT_LEVEL), 8), _cut(ann_text, 11)


_OBJECT, _ANNOTATION = _templates()
_ANNOTATIONS_OPEN = "[\n" + "  " * (_ANNOTATION_LEVEL)
_ANNOTATIONS_NEXT = ",\n" + "  " * (_ANNOTATION_LEVEL)
_ANNOTATIONS_CLOSE = "\n" + "  " * (_ANNOTATION_LEVEL - 1) + "]"
_OPEN = _OBJECT[7] + _ANNOTATIONS_OPEN  # the instance text's end to the first annotation
_CLOSE = _ANNOTATIONS_CLOSE + _OBJECT[8]  # the last annotation's end to the object's


class _Unfit(Exception):
    """A value the template does not write the encoder's way: encode the object as before."""


def _box_annotation(frame: int, e: dict[str, Any]) -> str:
    """An annotation's text from its stored entry (a box: anything else raises ``_Unfit``),
    what ``listing_documents._annotation`` lists, as the encoder writes it."""
    b = e["boundingBox"]
    if type(b) is not dict:
        raise _Unfit
    h, w, x, y = b["h"], b["w"], b["x"], b["y"]
    if not (  # BoundingBoxCoordinates' own fast check: then it keeps these very floats
        type(h) is float
        and type(w) is float
        and type(x) is float
        and type(y) is float
        and 0.0 <= h <= _HI
        and 0.0 <= w <= _HI
        and _LO <= x <= _HI
        and _LO <= y <= _HI
    ):
        c = BoundingBoxCoordinates(h, w, x, y)  # checked (or refused) as the decoder does
        h, w, x, y = c.height, c.width, c.top_left_x, c.top_left_y  # finite floats now
    confidence = e.get("confidence", 1.0)
    manual = e.get("manualAnnotation", True)
    if type(confidence) is not float or confidence - confidence != 0.0 or type(frame) is not int:
        raise _Unfit
    if manual is not True and manual is not False:
        raise _Unfit
    rh, rw, rx, ry = repr(h), repr(w), repr(x), repr(y)  # float.__repr__, as JSON writes them
    t = _ANNOTATION
    return (
        f"{t[0]}{frame!r}{t[1]}{rh}{t[2]}{rw}{t[3]}{rx}{t[4]}{ry}{t[5]}{rh}{t[6]}{rw}{t[7]}"
        f"{rx}{t[8]}{ry}{t[9]}{confidence!r}{t[10]}{'true' if manual else 'false'}{t[11]}"
    )


def _object_text(key: str, kind: Any, middle: str, entries: dict[int, dict[str, Any]]) -> str:
    """A plain object's text (``middle``: ``_kind_text`` of its kind), or ``_Unfit`` for one
    that is not all boxes."""
    order = sorted(entries)
    t = _OBJECT
    if not order:  # not made by plain_objects; the encoder writes "[]"
        raise _Unfit
    listed = _ANNOTATIONS_NEXT.join([_box_annotation(f, entries[f]) for f in order])
    instance = encode_basestring(instance_text(key, kind, order))
    return f"{t[0]}{encode_basestring(key)}{middle}{instance}{_OPEN}{listed}{_CLOSE}"


def _kind_text(kind: Any) -> str:
    """The object template from after the object hash to before the instance text, filled with
    what every object of a kind repeats (each field as the encoder writes it)."""
    values = (kind.name, kind.feature_hash, kind.uid, kind.color, kind.shape)
    t = _OBJECT
    filled = [t[i + 1] + encode_indented(v, _OBJECT_LEVEL + 1) for i, v in enumerate(values)]
    return "".join(filled) + t[6]


def row_json(
    head: tuple[str, str, str, str, str],
    document: dict[str, Any],
    kinds: ObjectKinds,
    cache: dict[Any, str],
) -> Raw | None:
    """The text of a plain row's listing as an item of the listing array, else None (the row
    needs the decoder). Box objects come from the templates, other plain objects through
    ``listing_documents.object_listing`` and the encoder."""
    try:
        objects: list[Any] = []
        for key, kind, entries in plain_objects(document, head[2], kinds):
            middle = cache.get(kind)
            if middle is None:
                middle = cache[kind] = _kind_text(kind)
            try:
                objects.append(Raw(_object_text(key, kind, middle, entries)))
            except (_Unfit, *NOT_PLAIN):
                objects.append(object_listing(key, kind, entries))
    except NOT_PLAIN:
        return None
    return Raw(encode_indented(RowListing(*head, objects, []), _ROW_LEVEL))


def iter_listing_json(
    store: Store,
    project: ProjectRecord,
    *,
    branch_name: str | None = None,
    all_branches: bool = False,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[RowListing | Raw]:
    """``listing.iter_listing``'s rows for ``json_text.write_json_array``: plain rows already
    as their text, every other row as its ``RowListing``. The same checks, order and errors."""
    records = existing_records(store, project, branch_name, all_branches)
    cache: dict[Any, str] = {}

    def from_document(head: Any, document: dict[str, Any], kinds: ObjectKinds) -> Raw | None:
        return row_json(head, document, kinds, cache)

    return listed_rows(store, project, records, batch_rows, from_document)
