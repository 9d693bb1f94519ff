"""Encord label-row JSON <-> ``LabelRowV2`` (reference: encord-format.md section 1).

Reading accepts both classification generations (per-frame ``labels[...].classifications`` and
``classification_answers[*].range``) and both polygon forms. Writing emits both classification
forms, so SDKs before and after 0.1.204 see the same classifications. Keys this module does not
know are kept (per row, data unit, frame entry, answer and instance) and written back unchanged.

Deliberate differences from the input on a round trip: ``classification_answers`` entries gain
``range``, ``createdAt``/``createdBy``/``lastEditedAt``/``lastEditedBy``, ``confidence`` and
``manualAnnotation`` (and ``spaces: {}`` when missing); a polygon given only as ``polygon`` gains
``polygons``; per-frame entries without ``confidence``/``manualAnnotation``/``createdBy`` gain them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from predscope.exceptions import FrameError, LabelRowError, OntologyError
from predscope.objects.classification import Classification
from predscope.objects.classification_instance import ClassificationInstance
from predscope.objects.coordinates import (
    SHAPE_COORDINATES,
    BoundingBoxCoordinates,
    coordinates_from_encord,
    coordinates_to_encord,
)
from predscope.objects.frames import ranges_from_json, ranges_to_json
from predscope.objects.label_row_metadata import (
    format_time,
    unit_sequence,
    units_from_metadata,
)
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_object_instance import RANGE_SHAPES, Annotation, ObjectInstance
from predscope.objects.options import snake_value

if TYPE_CHECKING:
    from predscope.objects.label_row import LabelRowV2

_FRAME_KEYED = "frame-keyed"
_PER_UNIT_TYPES = frozenset({"image", "img_group"})
_NO_FRAME_TYPES = frozenset({"audio", "plain_text", "time_series"})
_GEOMETRY = frozenset(
    {
        "boundingBox",
        "rotatableBoundingBox",
        "polygon",
        "polygons",
        "polyline",
        "point",
        "skeleton",
        "bitmask",
        "range",
    }
)
_OBJECT_KEYS = frozenset(
    {
        "objectHash",
        "featureHash",
        "name",
        "color",
        "shape",
        "value",
        "createdAt",
        "createdBy",
        "confidence",
        "manualAnnotation",
        "lastEditedAt",
        "lastEditedBy",
        "reviews",
        "isDeleted",
    }
)
_RANGE_OBJECT_KEYS = _OBJECT_KEYS | {"classifications", "range"}
_FRAME_CLASSIFICATION_KEYS = _OBJECT_KEYS - {"objectHash", "color", "shape"} | {
    "classificationHash"
}
_CLASSIFICATION_ANSWER_KEYS = frozenset(
    {
        "classificationHash",
        "featureHash",
        "classifications",
        "range",
        "createdAt",
        "createdBy",
        "lastEditedAt",
        "lastEditedBy",
        "confidence",
        "manualAnnotation",
    }
)
_ROW_KEYS = frozenset(
    {
        "label_hash",
        "branch_name",
        "created_at",
        "last_edited_at",
        "data_hash",
        "dataset_hash",
        "dataset_title",
        "data_title",
        "data_type",
        "label_status",
        "object_answers",
        "classification_answers",
        "object_actions",
        "data_units",
    }
)


# -- metadata and data units -----------------------------------------------------------------


def reset_for_metadata(row: LabelRowV2) -> None:
    """Data units and frame sizes of a row that has no stored JSON yet."""
    row._units, row._frame_sizes = units_from_metadata(row._metadata)
    row._extra = {"annotation_task_status": None, "is_shadow_data": False, "spaces": {}}


# -- decoding --------------------------------------------------------------------------------


def _lookup(row: LabelRowV2, feature_hash: Any, kind: type[Any], where: str) -> Any:
    try:
        return row._ontology.get_child_by_hash(str(feature_hash), kind)
    except OntologyError as exc:
        raise OntologyError(f"{where}: featureHash {feature_hash!r}: {exc}") from None


def _annotation(frame: int, coords: Any, e: dict[str, Any], known: frozenset[str]) -> Annotation:
    extra = {k: v for k, v in e.items() if k not in known and k not in _GEOMETRY}
    if coords is None:
        extra.update({k: v for k, v in e.items() if k in _GEOMETRY and k != "range"})
    return Annotation(
        frame,
        coords,
        e.get("confidence", 1.0),
        e.get("manualAnnotation", True),
        e.get("createdAt"),
        e.get("createdBy"),
        e.get("lastEditedAt"),
        e.get("lastEditedBy"),
        e.get("reviews"),
        e.get("isDeleted"),
        extra or None,
    )


def _decode_object(row: LabelRowV2, frame: int, e: dict[str, Any], where: str) -> None:
    include = row.init_options.get("include_object_feature_hashes")
    if include is not None and e.get("featureHash") not in include:
        return
    obj: Object = _lookup(row, e.get("featureHash"), Object, where)
    object_hash = str(e.get("objectHash"))
    inst = row._objects.get(object_hash)
    if inst is None:
        inst = ObjectInstance(obj, object_hash)
        inst._parent = row
        row._objects[object_hash] = inst
    coords = coordinates_from_encord(e, where) if obj.shape in SHAPE_COORDINATES else None
    inst._frames[frame] = _annotation(frame, coords, e, _OBJECT_KEYS)


def _decode_frame_classification(
    row: LabelRowV2, frame: int, e: dict[str, Any], where: str
) -> None:
    include = row.init_options.get("include_classification_feature_hashes")
    if include is not None and e.get("featureHash") not in include:
        return
    cls: Classification = _lookup(row, e.get("featureHash"), Classification, where)
    key = str(e.get("classificationHash"))
    inst = row._classifications.get(key)
    if inst is None:
        inst = ClassificationInstance(cls, key)
        inst._parent = row
        row._classifications[key] = inst
    inst._frames[frame] = _annotation(frame, None, e, _FRAME_CLASSIFICATION_KEYS)


def _decode_labels(row: LabelRowV2, frame: int, labels: dict[str, Any], where: str) -> None:
    for i, e in enumerate(labels.get("objects") or []):
        _decode_object(row, frame, e, f"{where}.objects[{i}]")
    for i, e in enumerate(labels.get("classifications") or []):
        _decode_frame_classification(row, frame, e, f"{where}.classifications[{i}]")
    extra = {k: v for k, v in labels.items() if k not in ("objects", "classifications")}
    if extra:
        row._label_extras[frame] = extra


def _decode_units(row: LabelRowV2, d: dict[str, Any], where: str) -> None:
    units = d.get("data_units")
    if not units:
        return
    row._units = []
    row._frame_sizes = {}
    data_type = row._metadata.data_type
    for key, unit in units.items():
        here = f"{where}.data_units[{key!r}]"
        base = {k: v for k, v in unit.items() if k != "labels"}
        labels = unit.get("labels") or {}
        size = (unit["height"], unit["width"]) if "height" in unit and "width" in unit else None
        if data_type in _PER_UNIT_TYPES:
            frame = 0 if data_type == "image" else unit_sequence(unit)
            row._units.append((key, base, frame))
            if size is not None:
                row._frame_sizes[frame] = size
            _decode_labels(row, frame, labels, f"{here}.labels")
            continue
        row._units.append((key, base, None))
        if size is not None:
            row._frame_sizes[-1] = size
        for frame_key, frame_labels in labels.items():
            try:
                frame = int(frame_key)
            except ValueError:
                raise FrameError(
                    f"{here}.labels: key {frame_key!r} is not a frame number"
                    " - video labels are keyed by the frame number as a string"
                ) from None
            _decode_labels(row, frame, frame_labels, f"{here}.labels[{frame_key!r}]")


def _decode_object_answers(row: LabelRowV2, d: dict[str, Any], where: str) -> None:
    include = row.init_options.get("include_object_feature_hashes")
    for key, entry in (d.get("object_answers") or {}).items():
        here = f"{where}.object_answers[{key!r}]"
        inst = row._objects.get(key)
        if inst is None and "range" in entry and "featureHash" in entry:
            if include is not None and entry["featureHash"] not in include:
                continue
            obj: Object = _lookup(row, entry["featureHash"], Object, here)
            geometry = dict(entry)
            geometry.setdefault("shape", obj.shape.value)
            coords = coordinates_from_encord(geometry, here)
            inst = ObjectInstance(obj, key)
            inst._parent = row
            inst._frames[0] = _annotation(0, coords, entry, _RANGE_OBJECT_KEYS)
            row._objects[key] = inst
            inst.answers.decode_static(entry.get("classifications"), f"{here}.classifications")
            inst._frames[0].extra = None
            inst.extra = {k: v for k, v in entry.items() if k not in _RANGE_OBJECT_KEYS}
            continue
        if inst is None:
            if include is None:
                row._orphans["object_answers"][key] = entry
            continue
        inst.answers.decode_static(entry.get("classifications"), f"{here}.classifications")
        inst.extra = {k: v for k, v in entry.items() if k not in ("objectHash", "classifications")}
    for key, entry in (d.get("object_actions") or {}).items():
        inst = row._objects.get(key)
        if inst is None:
            if include is None:
                row._orphans["object_actions"][key] = entry
            continue
        inst.answers.decode_dynamic(entry.get("actions"), f"{where}.object_actions[{key!r}]")


def _decode_classification_answers(row: LabelRowV2, d: dict[str, Any], where: str) -> None:
    include = row.init_options.get("include_classification_feature_hashes")
    for key, entry in (d.get("classification_answers") or {}).items():
        here = f"{where}.classification_answers[{key!r}]"
        inst = row._classifications.get(key)
        if inst is None:
            if include is not None and entry.get("featureHash") not in include:
                continue
            cls: Classification = _lookup(row, entry.get("featureHash"), Classification, here)
            inst = ClassificationInstance(cls, key)
            inst._parent = row
            row._classifications[key] = inst
        inst.answers.decode_static(entry.get("classifications"), f"{here}.classifications")
        inst.extra = {k: v for k, v in entry.items() if k not in _CLASSIFICATION_ANSWER_KEYS}
        if "range" in entry and row._metadata.data_type in _NO_FRAME_TYPES:
            known = _CLASSIFICATION_ANSWER_KEYS | inst.extra.keys()
            inst._frames = {0: _annotation(0, None, entry, known)}
            inst._spans = ranges_from_json(entry["range"], f"{here}.range")
        elif "range" in entry:
            for r in ranges_from_json(entry["range"], f"{here}.range"):
                for frame in range(r.start, r.end + 1):
                    if frame not in inst._frames:
                        inst._frames[frame] = _annotation(
                            frame, None, entry, _CLASSIFICATION_ANSWER_KEYS | inst.extra.keys()
                        )


def decode_into(row: LabelRowV2, d: dict[str, Any]) -> None:
    where = f"label row {d.get('label_hash') or row._metadata.data_title!r}"
    _decode_units(row, d, where)
    _decode_object_answers(row, d, where)
    _decode_classification_answers(row, d, where)
    row._extra = {k: v for k, v in d.items() if k not in _ROW_KEYS}


# -- encoding --------------------------------------------------------------------------------


def _time(value: Any) -> Any:
    return value if value is None or type(value) is str else format_time(value)


def _frame_fields(entry: dict[str, Any], ann: Annotation) -> None:
    if ann._last_edited_at is not None:
        entry["lastEditedAt"] = _time(ann._last_edited_at)
    if ann.last_edited_by is not None:
        entry["lastEditedBy"] = ann.last_edited_by
    if ann.reviews is not None:
        entry["reviews"] = ann.reviews
    if ann.is_deleted is not None:
        entry["isDeleted"] = ann.is_deleted


def _object_fields(obj: Object) -> tuple[str, str, str, str, str, bool]:
    """What every label of ``obj`` repeats: featureHash, name, color, shape, value, range-based.

    Computed once per object kind and row; ``Shape`` is an enum whose ``.value`` and hash run
    Python code, too slow to evaluate per annotation.
    """
    shape = obj.shape
    return (
        obj.feature_node_hash,
        obj.name,
        obj.color,
        shape.value,
        obj.value,
        shape in RANGE_SHAPES,
    )


def _encode_range_object(
    key: str, inst: ObjectInstance, static: list[Any], fields: tuple[str, str, str, str, str, bool]
) -> dict[str, Any] | None:
    fh, name, color, shape, value, _ = fields
    entry: dict[str, Any] | None = None
    for ann in inst._frames.values():
        entry = {
            "objectHash": key,
            "classifications": static,
            "createdBy": ann.created_by,
            "createdAt": _time(ann._created_at),
            "lastEditedBy": ann.last_edited_by,
            "lastEditedAt": _time(ann._last_edited_at),
            "manualAnnotation": ann.manual_annotation,
            "featureHash": fh,
            "name": name,
            "color": color,
            "shape": shape,
            "value": value,
            "confidence": ann.confidence,
        }
        if ann.coordinates is not None:
            entry.update(coordinates_to_encord(ann.coordinates))
        entry.update(inst.extra)
    return entry


def _object_entry(
    key: str, fields: tuple[str, str, str, str, str, bool], ann: Annotation
) -> dict[str, Any]:
    """One per-frame object label, any geometry and any optional field."""
    fh, name, color, shape, value, _ = fields
    entry: dict[str, Any] = {
        "objectHash": key,
        "featureHash": fh,
        "name": name,
        "color": color,
        "shape": shape,
        "value": value,
        "createdAt": _time(ann._created_at),
        "createdBy": ann.created_by,
        "confidence": ann.confidence,
        "manualAnnotation": ann.manual_annotation,
    }
    _frame_fields(entry, ann)
    coords = ann.coordinates
    if coords is not None:
        entry.update(coordinates_to_encord(coords))
    return entry


def _encode_objects(
    row: LabelRowV2, per_frame: dict[int, list[dict[str, Any]]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    # The per-annotation loop below is the bulk-save hot path: one dict literal per label, the
    # object's shared fields looked up once per object kind, no helper calls for the common case.
    object_answers: dict[str, Any] = {}
    object_actions: dict[str, Any] = {}
    box_type = BoundingBoxCoordinates
    kinds: dict[int, tuple[str, str, str, str, str, bool]] = {}
    for key, inst in row._objects.items():
        obj = inst._object
        fields = kinds.get(id(obj))
        if fields is None:
            fields = kinds[id(obj)] = _object_fields(obj)
        answers = inst._answers
        static = answers.encode_static() if answers is not None else []
        if fields[5]:
            ranged = _encode_range_object(key, inst, static, fields)
            if ranged is not None:
                object_answers[key] = ranged
        else:
            fh, name, color, shape, value, _ = fields
            for frame, ann in inst._frames.items():
                created = ann._created_at
                edited = ann._last_edited_at
                coords = ann.coordinates
                if (
                    type(coords) is box_type
                    and type(edited) is str
                    and ann.reviews is None
                    and ann.is_deleted is None
                    and ann.last_edited_by is None
                ):
                    # A box as the SDK makes it: one literal of the final size (no dict resize).
                    entry = {
                        "objectHash": key,
                        "featureHash": fh,
                        "name": name,
                        "color": color,
                        "shape": shape,
                        "value": value,
                        "createdAt": created if type(created) is str else _time(created),
                        "createdBy": ann.created_by,
                        "confidence": ann.confidence,
                        "manualAnnotation": ann.manual_annotation,
                        "lastEditedAt": edited,
                        "boundingBox": {
                            "h": coords.height,
                            "w": coords.width,
                            "x": coords.top_left_x,
                            "y": coords.top_left_y,
                        },
                    }
                else:
                    entry = _object_entry(key, fields, ann)
                if ann.extra:
                    entry.update(ann.extra)
                bucket = per_frame.get(frame)
                if bucket is None:
                    per_frame[frame] = [entry]
                else:
                    bucket.append(entry)
            if inst._extra:
                object_answers[key] = {"objectHash": key, "classifications": static, **inst._extra}
            else:
                object_answers[key] = {"objectHash": key, "classifications": static}
        if answers is not None and (answers.dynamic or answers.raw_actions):
            actions = answers.encode_dynamic()
            if actions:
                object_actions[key] = {"objectHash": key, "actions": actions}
    orphans = row._orphans
    if orphans["object_answers"]:
        for key, entry in orphans["object_answers"].items():
            object_answers.setdefault(key, entry)
    if orphans["object_actions"]:
        for key, entry in orphans["object_actions"].items():
            object_actions.setdefault(key, entry)
    return object_answers, object_actions


def _encode_classifications(
    row: LabelRowV2, per_frame: dict[int, list[dict[str, Any]]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, inst in row._classifications.items():
        cls = inst._classification
        fh = cls.feature_node_hash
        title = cls.title
        title_value = snake_value(title)
        annotations = inst.get_annotations()
        static = inst._answers.encode_static() if inst._answers is not None else []
        entry: dict[str, Any] = {
            "classificationHash": key,
            "featureHash": fh,
            "classifications": static,
        }
        entry["range"] = ranges_to_json(inst.range_list)
        if annotations:
            first = annotations[0]
            entry.update(
                createdBy=first.created_by,
                createdAt=_time(first._created_at),
                lastEditedBy=first.last_edited_by,
                lastEditedAt=_time(first._last_edited_at),
                confidence=first.confidence,
                manualAnnotation=first.manual_annotation,
            )
        if "spaces" not in inst.extra:
            entry["spaces"] = {}
        entry.update(inst.extra)
        out[key] = entry
        for ann in annotations:
            frame_entry: dict[str, Any] = {
                "name": title,
                "value": title_value,
                "createdAt": _time(ann._created_at),
                "createdBy": ann.created_by,
                "confidence": ann.confidence,
                "featureHash": fh,
                "classificationHash": key,
                "manualAnnotation": ann.manual_annotation,
            }
            _frame_fields(frame_entry, ann)
            if ann.extra:
                frame_entry.update(ann.extra)
            per_frame.setdefault(ann.frame, []).append(frame_entry)
    return out


def _labels(
    row: LabelRowV2, frame: int, objects: dict[int, list[Any]], classes: dict[int, list[Any]]
) -> dict[str, Any]:
    labels = {"objects": objects.get(frame, []), "classifications": classes.get(frame, [])}
    extra = row._label_extras.get(frame)
    if extra:
        labels.update(extra)
    return labels


def encode(row: LabelRowV2) -> dict[str, Any]:
    md = row._metadata
    objects: dict[int, list[dict[str, Any]]] = {}
    classes: dict[int, list[dict[str, Any]]] = {}
    object_answers, object_actions = _encode_objects(row, objects)
    classification_answers = _encode_classifications(row, classes)
    data_units: dict[str, Any] = {}
    for key, base, frame in row._units:
        unit = dict(base)
        if frame is not None:
            unit["labels"] = _labels(row, frame, objects, classes)
        elif md.data_type in _NO_FRAME_TYPES:
            unit["labels"] = dict(row._label_extras.get(-1, {}))
        else:
            frames = sorted(set(objects) | set(classes) | set(row._label_extras))
            unit["labels"] = {str(f): _labels(row, f, objects, classes) for f in frames}
        data_units[key] = unit
    placed = {frame for _key, _base, frame in row._units}
    if None not in placed:
        orphan = sorted((set(objects) | set(classes)) - placed)
        if orphan:
            raise LabelRowError(
                f"row {md.data_title!r}: labels on frame {orphan[0]} but the row has no data unit"
                " for it - give LabelRowMetadata.images one ImageInfo per frame"
            )
    out: dict[str, Any] = {
        "label_hash": md.label_hash,
        "branch_name": md.branch_name,
        "created_at": format_time(md.created_at),
        "last_edited_at": format_time(md.last_edited_at),
        "data_hash": md.data_hash,
        "dataset_hash": md.dataset_hash,
        "dataset_title": md.dataset_title,
        "data_title": md.data_title,
        "data_type": md.data_type,
        "annotation_task_status": None,
        "is_shadow_data": False,
        "object_answers": object_answers,
        "classification_answers": classification_answers,
        "object_actions": object_actions,
        "label_status": md.label_status,
        "data_units": data_units,
        "spaces": {},
    }
    out.update(row._extra)
    return out
