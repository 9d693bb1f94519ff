"""Stored documents for planned image rows, built without one Python object per detection.

``write_plan`` hands every single-image row here: the codec encodes one template entry per ontology
object, and each planned object becomes a copy of it with its own hash, confidence and geometry (or,
for boxes onto a new row, a slice of pre-encoded JSON). The output matches what the objects layer
would write byte for byte; videos and image groups still go through the objects layer.
"""

from __future__ import annotations

import base64
import math
import os
from array import array
from itertools import chain
from typing import TYPE_CHECKING, Any

import orjson

from predscope.formats.row_geometry import BOX, coco_fields, encode_columns, encode_document
from predscope.objects.coordinates import BoundingBoxCoordinates, coordinates_to_encord
from predscope.objects.label_row import LabelRowV2
from predscope.objects.label_row_metadata import LabelRowMetadata
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.rows import (
    OntologyIndex,
    PreparedRow,
    check_document,
    metadata_from_record,
)

if TYPE_CHECKING:  # the plan type lives with the writer, which imports this module
    from predscope.services.imports.writer import UnitPlan

__all__ = ["EntryTemplates", "fast_document", "new_hashes"]

# Placeholders for the per-object values when a box entry's JSON becomes a bytes format.
_MARKS = ("\x00objectHash", "\x00confidence", "\x00boundingBox")


def new_hashes(count: int) -> list[str]:
    """``count`` object hashes as ``new_hash`` makes them, from one ``os.urandom`` call."""
    block = base64.b64encode(os.urandom(6 * count)).decode("ascii")
    return [block[i : i + 8] for i in range(0, 8 * count, 8)]


class EntryTemplates:
    """Per-frame object entries cloned from one the objects layer's codec encoded.

    Building 500,000 ``ObjectInstance`` objects only to encode them again costs more than the rest
    of an import; an entry is the codec's template for its ontology object with the object hash,
    confidence and geometry (``coordinates_to_encord``) filled in, which is byte for byte what the
    codec writes (a test compares both paths).
    """

    def __init__(self, ontology: OntologyStructure, manual: bool, stamp: str) -> None:
        self.ontology = ontology
        self.objects = {o.feature_node_hash: o for o in ontology.objects}
        self.manual = manual
        self.stamp = stamp
        self.cache: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.formats: dict[str, bytes | None] = {}

    def box_format(self, feature_hash: str) -> bytes | None:
        """The JSON of a box entry as a bytes %-format of (hash, confidence, h, w, x, y).

        Made by encoding the template with markers, so the bytes are orjson's own; None when
        the markers cannot be placed unambiguously (the dict path is used then).
        """
        if feature_hash in self.formats:
            return self.formats[feature_hash]
        base, _ = self.cache[feature_hash]
        probe = {**base, "objectHash": _MARKS[0], "confidence": _MARKS[1]}
        probe["boundingBox"] = _MARKS[2]
        text = orjson.dumps(probe).replace(b"%", b"%%")
        marks = [orjson.dumps(m) for m in _MARKS]
        found = [text.find(m) for m in marks]
        fmt = None
        if all(text.count(m) == 1 for m in marks) and found == sorted(found):
            fmt = text.replace(marks[0], b'"%b"').replace(marks[1], b"%b")
            fmt = fmt.replace(marks[2], b'{"h":%b,"w":%b,"x":%b,"y":%b}')
        self.formats[feature_hash] = fmt
        return fmt

    def get(
        self, feature_hash: str, coords: Any, metadata: LabelRowMetadata
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        found = self.cache.get(feature_hash)
        if found is not None:
            return found
        row = LabelRowV2(metadata, self.ontology)
        row._load_labels(None, metadata)
        inst = self.objects[feature_hash].create_instance()
        inst.set_for_frames(
            coords,
            frames=0,
            created_at=self.stamp,
            confidence=1.0,
            manual_annotation=self.manual,
        )
        row.add_object_instance(inst)
        doc = row.to_encord_dict()
        (entry,) = next(iter(doc["data_units"].values()))["labels"]["objects"]
        geometry = coordinates_to_encord(coords)
        base = {k: v for k, v in entry.items() if k not in geometry}
        answers = doc["object_answers"][inst.object_hash]
        self.cache[feature_hash] = found = (base, answers)
        return found

    def for_unit(
        self, unit: UnitPlan, metadata: LabelRowMetadata
    ) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """The templates of every ontology object the unit's objects use."""
        out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        fhs = unit.feature_hashes
        for fh in set(fhs):
            found = self.cache.get(fh)
            if found is None:
                i = fhs.index(fh)
                box = unit.boxes[i]
                coords = (
                    unit.coordinates[i]
                    if box is None and unit.coordinates is not None
                    else BoundingBoxCoordinates(*box)  # type: ignore[misc]
                )
                found = self.get(fh, coords, metadata)
            out[fh] = found
        return out


def _entries(
    unit: UnitPlan, keys: list[str], templates: dict[str, tuple[dict[str, Any], dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The unit's per-frame entries: one dict per object, in plan order."""
    bases = {fh: base for fh, (base, _) in templates.items()}
    out: list[dict[str, Any]] = []
    append = out.append
    coords = unit.coordinates
    if coords is None and unit.extras is None:  # detections: boxes only, the hot loop
        for fh, key, conf, b in zip(
            unit.feature_hashes, keys, unit.confidences, unit.boxes, strict=True
        ):
            entry = bases[fh].copy()
            entry["objectHash"] = key
            entry["confidence"] = conf
            entry["boundingBox"] = {"h": b[0], "w": b[1], "x": b[2], "y": b[3]}  # type: ignore[index]
            append(entry)
        return out
    extras = unit.extras or [None] * len(unit)
    for i, (fh, key, conf, box, extra) in enumerate(
        zip(unit.feature_hashes, keys, unit.confidences, unit.boxes, extras, strict=True)
    ):
        entry = bases[fh].copy()
        entry["objectHash"] = key
        entry["confidence"] = conf
        if box is not None:
            entry["boundingBox"] = {"h": box[0], "w": box[1], "x": box[2], "y": box[3]}
        else:
            entry.update(coordinates_to_encord(coords[i]))  # type: ignore[index]
        if extra:
            entry.update(extra)
        append(entry)
    return out


def _box_fragments(
    unit: UnitPlan, formats: dict[str, bytes], keys: list[bytes]
) -> tuple[orjson.Fragment, orjson.Fragment]:
    """A new row's objects list and object answers as encoded JSON (boxes only).

    Byte for byte what ``orjson.dumps`` writes for the dicts ``_entries`` builds (a test compares
    them): numbers are formatted by orjson in two calls, and no per-object dict is made.
    """
    numbers = orjson.dumps(list(chain.from_iterable(unit.boxes)))[1:-1].split(b",")  # type: ignore[arg-type]
    scores = orjson.dumps(unit.confidences)[1:-1].split(b",")
    entries = [
        formats[fh] % (key, score, h, w, x, y)
        for fh, key, score, h, w, x, y in zip(
            unit.feature_hashes,
            keys,
            scores,
            numbers[0::4],
            numbers[1::4],
            numbers[2::4],
            numbers[3::4],
            strict=True,
        )
    ]
    answers = [b'"%b":{"objectHash":"%b","classifications":[]}' % (k, k) for k in keys]
    return (
        orjson.Fragment(b"[" + b",".join(entries) + b"]"),
        orjson.Fragment(b"{" + b",".join(answers) + b"}"),
    )


def _plan_geometry(unit: UnitPlan, object_hashes: bytes | list[str]) -> bytes | None:
    """The evaluated-geometry copy of a new image row holding just the unit's boxes (and the
    COCO extras ground truth keeps), from the plan's columns: the values the row's JSON holds
    and reads back exactly. None when an object carries other extras (encode the document)."""
    boxes: Any = unit.box_array
    if boxes is None:
        boxes = array("d", chain.from_iterable(unit.boxes))  # type: ignore[arg-type]
    scores: Any = unit.score_array
    if scores is None:
        scores = [1.0 if c is None else c for c in unit.confidences]
    bits: Any = BOX
    coco = None
    if unit.extras is not None:
        bits = []
        area: list[float] = []
        cbox: list[float] = []
        for extra in unit.extras:
            if not extra:
                bits.append(BOX)
                area.append(math.nan)
                cbox += (math.nan,) * 4
            elif extra.keys() == {"coco"}:
                bit, stored, stored_box = coco_fields(extra)
                bits.append(BOX | bit)
                area.append(stored)
                cbox += stored_box
            else:
                return None
        coco = (area, cbox)
    return encode_columns(
        "image", None, unit.feature_hashes, object_hashes, scores, boxes, bits, None, coco
    )


def fast_document(
    record: Any,
    document: dict[str, Any] | None,
    unit: UnitPlan,
    templates: EntryTemplates,
    index: OntologyIndex,
) -> PreparedRow:
    """The row's stored document (or an empty one from the codec) plus the planned objects."""
    metadata = metadata_from_record(record)
    fresh = not document
    if not document:
        row = LabelRowV2(metadata, templates.ontology)
        row._load_labels(None, metadata)
        document = row.to_encord_dict()
    labels = next(iter(document["data_units"].values()))["labels"]
    objects = labels.setdefault("objects", [])
    answers = document.setdefault("object_answers", {})
    used = templates.for_unit(unit, metadata)
    plain = all(list(answer) == ["objectHash", "classifications"] for _, answer in used.values())
    label_hash = str(record.label_hash)
    if fresh and plain and unit.coordinates is None and unit.extras is None and len(unit):
        formats = {fh: templates.box_format(fh) for fh in used}
        if not objects and not answers and None not in formats.values():
            # Detections onto a new row: boxes of ontology objects built from checked columns,
            # nothing for ``check_document`` to find.
            block = base64.b64encode(os.urandom(6 * len(unit)))  # as ``new_hashes``, in bytes
            raw_keys = [block[i : i + 8] for i in range(0, len(block), 8)]
            labels["objects"], document["object_answers"] = _box_fragments(
                unit,
                formats,  # type: ignore[arg-type]
                raw_keys,
            )
            geometry = _plan_geometry(unit, b"\x00".join(raw_keys))
            return PreparedRow(label_hash, document, len(unit), 0, None, geometry)
    keys = new_hashes(len(unit))
    objects.extend(_entries(unit, keys, used))
    if plain:
        for key in keys:
            answers[key] = {"objectHash": key, "classifications": []}
    else:
        for fh, key in zip(unit.feature_hashes, keys, strict=True):
            answers[key] = {**used[fh][1], "objectHash": key, "classifications": []}
    if fresh and unit.coordinates is None and not document.get("classification_answers"):
        # Boxes of ontology objects built from checked columns onto a new row: nothing for
        # ``check_document`` to find (it would walk every entry again).
        geometry = _plan_geometry(unit, keys)  # a new row: the plan's objects are all it holds
        if geometry is None:
            geometry = encode_document(document, metadata.data_type)
        return PreparedRow(label_hash, document, len(answers), 0, None, geometry)
    counts = check_document(document, metadata, index)
    geometry = encode_document(document, metadata.data_type)
    return PreparedRow(label_hash, document, *counts, None, geometry)
