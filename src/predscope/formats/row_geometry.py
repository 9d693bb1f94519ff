"""A label row's evaluated geometry as compact columns, stored beside its Encord JSON.

Evaluating a branch reads, per object, only its frame, feature hash, object hash, confidence,
box numbers (a rotatable box's with theta) and, for COCO ground truth, the ``coco`` extras; the
row's JSON carries ~470 bytes an object of other things (name, colour, timestamps). This module
encodes those few values of one row as fixed-width little-endian columns plus two string tables
(``encode_document`` from a document, ``encode_columns`` from columns an importer already holds),
and decodes many rows at once into numpy arrays (``decode_rows``), so a reader concatenates
arrays instead of walking dicts. It is a function of the document alone (no ontology, no frame
size), so a copy written with its document can never describe another one.

A row it cannot copy exactly (attribute answers, values that are not plain numbers, a hash with
a NUL) gets ``NEEDS_JSON``: readers then parse the JSON, which gives the same result by
definition. Shapes other than boxes are not copied; an object whose class needs them sends its
row to the JSON path (the reader decides, ``BOX`` / ``ROTATED`` say what each object holds).

Layout (version 1): header ``<2sBBBBHIIII`` (magic ``PG``, version, flags, data type, pad,
feature count, object count n, feature-table bytes, hash-table bytes, reserved); the feature
table and object-hash table (UTF-8, NUL-separated); frame int32[n], feature uint16[n], bits
uint8[n], score float64[n], box float64[n, 4] (normalised h, w, x, y: Encord's key order, which
importers hold); with ``_F_THETA`` theta float64[n]; with ``_F_COCO`` area float64[n] and COCO
bbox float64[n, 4].
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BOX",
    "COCO",
    "COCO_AREA",
    "COCO_BBOX",
    "COCO_CROWD",
    "NEEDS_JSON",
    "ROTATED",
    "GeometryRows",
    "coco_extras",
    "coco_fields",
    "decode_rows",
    "encode_columns",
    "encode_document",
    "frame_entries",
    "needs_json",
]

# per-object bits
BOX = 1  # the box numbers are the entry's boundingBox
ROTATED = 2  # the box numbers and theta are the entry's rotatableBoundingBox
COCO = 4  # the entry has a ``coco`` key (ground truth imported from COCO)
COCO_AREA = 8  # ... holding a usable area
COCO_BBOX = 16  # ... holding a usable bbox
COCO_CROWD = 32  # ... with iscrowd set

_MAGIC = b"PG"
_VERSION = 1
_HEADER = struct.Struct("<2sBBBBHIIII")
_F_NEEDS_JSON = 1
_F_THETA = 2
_F_COCO = 4
_DATA_TYPES = {"image": 0, "img_group": 1, "video": 2}
_OTHER_TYPE = 3
_MAX_INT = 2**53  # ints beyond this do not convert to float exactly
_LITTLE = sys.byteorder == "little"

NEEDS_JSON = _HEADER.pack(_MAGIC, _VERSION, _F_NEEDS_JSON, _OTHER_TYPE, 0, 0, 0, 0, 0, 0)


class _Unsupported(Exception):
    """The row holds something the copy does not carry exactly: readers parse its JSON."""


def frame_entries(
    unit_doc: Mapping[str, Any], data_type: str
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(frame, labels) of one stored data-unit entry: the frame numbers outcomes are stored by."""
    labels = unit_doc.get("labels") or {}
    if data_type == "image":
        yield 0, labels
    elif data_type == "img_group":
        yield int(unit_doc.get("data_sequence", 0)), labels
    elif data_type == "video":
        for key, value in labels.items():
            yield int(key), value


def coco_extras(entry: Mapping[str, Any]) -> tuple[float | None, bool, list[float] | None]:
    """(area, iscrowd, bbox) the COCO importer kept on a ground-truth entry under ``coco``.

    Editing an annotation's geometry replaces the annotation and drops these, so they are only
    present while the geometry is still the imported one.
    """
    source = entry.get("coco")
    if type(source) is not dict and not isinstance(source, Mapping):
        return None, False, None
    area = source.get("area")
    stored = float(area) if isinstance(area, (int, float)) and math.isfinite(area) else None
    box = source.get("bbox")
    bbox = None
    if isinstance(box, list) and len(box) == 4:
        a, b, c, d = box
        if type(a) is float and type(b) is float and type(c) is float and type(d) is float:
            bbox = [a, b, c, d]  # the common case, without a check per value
        elif all(isinstance(v, (int, float)) for v in box):
            bbox = [float(v) for v in box]
    return stored, bool(source.get("iscrowd", False)), bbox


_NO_BOX = (math.nan,) * 4


def coco_fields(entry: Mapping[str, Any]) -> tuple[int, float, Sequence[float]]:
    """An entry's COCO extras as the copy holds them: (bits, area or NaN, bbox or NaNs)."""
    stored, crowd, stored_box = coco_extras(entry)
    bits = COCO | (COCO_CROWD if crowd else 0) | (COCO_AREA if stored is not None else 0)
    if stored_box is None:
        return bits, math.nan if stored is None else stored, _NO_BOX
    _finite(sum(stored_box))
    return bits | COCO_BBOX, math.nan if stored is None else stored, stored_box


def needs_json(blob: bytes | None) -> bool:
    """True when readers must parse the row's JSON (no copy, or one that says so)."""
    return (
        blob is None
        or len(blob) < _HEADER.size
        or blob[:2] != _MAGIC
        or blob[2] != _VERSION
        or bool(blob[3] & _F_NEEDS_JSON)
    )


def _number(value: Any) -> float:
    """A plain number as the JSON reader gets it back (finiteness is checked per column)."""
    kind = type(value)
    if kind is float:
        return float(value)
    if kind is int and -_MAX_INT <= value <= _MAX_INT:
        return float(value)
    raise _Unsupported


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise _Unsupported  # stored as null: the JSON reader sees something else
    return value


def _table(items: Sequence[str]) -> bytes:
    text = "\x00".join(items)
    if items and text.count("\x00") != len(items) - 1:
        raise _Unsupported  # a NUL inside an item: the table would not split back
    return text.encode("utf-8")


def encode_columns(
    data_type: str,
    frames: NDArray[Any] | Sequence[int] | None,
    feature_hashes: Sequence[str],
    object_hashes: Sequence[str] | bytes,
    scores: NDArray[Any] | Sequence[float],
    boxes: NDArray[Any] | Sequence[float],
    bits: NDArray[Any] | Sequence[int] | int,
    theta: NDArray[Any] | Sequence[float] | None = None,
    coco: tuple[Any, Any] | None = None,
) -> bytes:
    """One row's copy from columns in stored object order.

    ``frames`` per object (None: all 0); ``feature_hashes`` per object; ``object_hashes`` per
    object, or already NUL-joined UTF-8 bytes; ``boxes`` normalised h, w, x, y per object
    ((n, 4), or flat); ``bits`` per object or one for all; ``coco`` (area, bbox (n, 4)) when
    any object has COCO extras (their bits say which values hold). Lists are packed with
    ``array`` (a row holds tens of objects: numpy's per-call cost would dominate). A NUL in a
    hash or a non-finite score, box or theta: ``NEEDS_JSON``.
    """
    try:
        return _encode_columns(
            data_type, frames, feature_hashes, object_hashes, scores, boxes, bits, theta, coco
        )
    except (_Unsupported, UnicodeError, OverflowError, ValueError, TypeError):
        return NEEDS_JSON


_NUMPY_CODES = {"d": "<f8", "i": "<i4", "H": "<u2", "B": "u1"}


def _packed(values: Any, code: str, count: int) -> bytes:
    """``count`` values as little-endian fixed-width bytes (``array`` type code ``code``)."""
    if isinstance(values, np.ndarray):
        if code == "i" and values.size and (values.min() < -(2**31) or values.max() >= 2**31):
            raise _Unsupported
        out = np.ascontiguousarray(values, dtype=_NUMPY_CODES[code]).tobytes()
    else:
        packed = array(code, values)
        if not _LITTLE:
            packed.byteswap()
        out = packed.tobytes()
    if len(out) != count * np.dtype(_NUMPY_CODES[code]).itemsize:
        raise ValueError("one value per object (four per box)")
    return out


def _check_finite(values: Any) -> None:
    """JSON stores NaN and infinities as null: the reader would see something else. (A sum
    that overflows also refuses: harmless, the row is read from its JSON.)"""
    finite = (
        bool(np.isfinite(values).all())
        if isinstance(values, np.ndarray)
        else math.isfinite(sum(values))
    )
    if not finite:
        raise _Unsupported


def _encode_columns(
    data_type: str,
    frames: NDArray[Any] | Sequence[int] | None,
    feature_hashes: Sequence[str],
    object_hashes: Sequence[str] | bytes,
    scores: NDArray[Any] | Sequence[float],
    boxes: NDArray[Any] | Sequence[float],
    bits: NDArray[Any] | Sequence[int] | int,
    theta: NDArray[Any] | Sequence[float] | None,
    coco: tuple[Any, Any] | None,
) -> bytes:
    n = len(feature_hashes)
    table = list(dict.fromkeys(feature_hashes))
    slot = {h: i for i, h in enumerate(table)}
    if len(slot) > 0xFFFF:
        raise _Unsupported
    if isinstance(object_hashes, bytes):
        hash_text = object_hashes
        if n and hash_text.count(b"\x00") != n - 1:
            raise _Unsupported
    else:
        if len(object_hashes) != n:
            raise ValueError("one object hash per object")
        hash_text = _table(object_hashes)
    feature_text = _table(table)
    for values in (scores, boxes, theta):
        if values is not None:
            _check_finite(values)
    flags = (_F_THETA if theta is not None else 0) | (_F_COCO if coco is not None else 0)
    parts = [
        _HEADER.pack(
            _MAGIC,
            _VERSION,
            flags,
            _DATA_TYPES.get(data_type, _OTHER_TYPE),
            0,
            len(slot),
            n,
            len(feature_text),
            len(hash_text),
            0,
        ),
        feature_text,
        hash_text,
        bytes(4 * n) if frames is None else _packed(frames, "i", n),
        _packed([slot[h] for h in feature_hashes], "H", n),
        bytes((bits,)) * n if isinstance(bits, int) else _packed(bits, "B", n),
        _packed(scores, "d", n),
        _packed(boxes, "d", 4 * n),
    ]
    if theta is not None:
        parts.append(_packed(theta, "d", n))
    if coco is not None:
        parts.append(_packed(coco[0], "d", n))
        parts.append(_packed(coco[1], "d", 4 * n))
    return b"".join(parts)


def encode_document(document: Mapping[str, Any], data_type: str) -> bytes:
    """The copy of a stored Encord label-row document (``NEEDS_JSON`` where it cannot be exact).

    Objects are taken in the order the JSON reader walks them: data units, frames
    (``frame_entries``), then each frame's ``objects`` list.
    """
    try:
        return _encode_document(document, data_type)
    except (_Unsupported, TypeError, ValueError, KeyError, AttributeError, OverflowError):
        return NEEDS_JSON


def _encode_document(document: Mapping[str, Any], data_type: str) -> bytes:
    answers = document.get("object_answers") or None
    if answers is not None:
        if not isinstance(answers, Mapping):
            raise _Unsupported
        for answer in answers.values():
            if isinstance(answer, Mapping) and answer.get("classifications"):
                raise _Unsupported  # attribute answers: read from the JSON
    frames: list[int] = []
    features: list[str] = []
    hashes: list[str] = []
    bits: list[int] = []
    scores: list[float] = []
    boxes: list[float] = []
    theta: list[float] = []
    area: list[float] = []
    cbox: list[float] = []
    rotated = has_coco = False
    nan = math.nan
    for unit_doc in (document.get("data_units") or {}).values():
        for frame, labels in frame_entries(unit_doc, data_type):
            for entry in labels.get("objects") or ():
                feature = entry.get("featureHash", "")
                if type(feature) is not str:
                    raise _Unsupported
                box = entry.get("boundingBox")
                rot = entry.get("rotatableBoundingBox")
                bit = 0
                turn = 0.0
                geometry = box if rot is None else rot
                if geometry is not None:
                    if box is not None and rot is not None:
                        raise _Unsupported
                    x, y, w, h = geometry["x"], geometry["y"], geometry["w"], geometry["h"]
                    if (
                        not (type(x) is float and type(y) is float and type(w) is float)
                        or type(h) is not float
                    ):  # floats are checked finite with the rest
                        x, y, w, h = _number(x), _number(y), _number(w), _number(h)
                    boxes += (h, w, x, y)
                    if rot is None:
                        bit = BOX
                    else:
                        bit = ROTATED
                        rotated = True
                        turn = float(rot.get("theta", 0.0))
                else:
                    boxes += (0.0, 0.0, 0.0, 0.0)
                theta.append(turn)
                if "coco" in entry:
                    has_coco = True
                    extra, stored, stored_box = coco_fields(entry)
                    bit |= extra
                    area.append(stored)
                    cbox += stored_box
                else:
                    area.append(nan)
                    cbox += _NO_BOX
                confidence = entry.get("confidence")
                scores.append(1.0 if confidence is None else float(confidence))
                hashes.append(str(entry.get("objectHash")))
                frames.append(frame)
                features.append(feature)
                bits.append(bit)
    return _encode_columns(
        data_type,
        frames,
        features,
        hashes,
        scores,
        boxes,
        bits,
        theta if rotated else None,
        (area, cbox) if has_coco else None,
    )


@dataclass(frozen=True, eq=False)
class GeometryRows:
    """Decoded copies of several rows, objects concatenated in row order.

    ``row`` is each object's row (0-based, in the order given), ``feature`` its index into
    ``features`` (every row's feature table, concatenated)."""

    counts: NDArray[np.int64]  # objects per row
    data_types: tuple[str | None, ...]  # per row, as encoded (None: another type)
    row: NDArray[np.int64]
    frame: NDArray[np.int64]
    feature: NDArray[np.int64]
    features: tuple[str, ...]
    object_hashes: list[str]
    bits: NDArray[np.uint8]
    score: NDArray[np.float64]
    box: NDArray[np.float64]  # (n, 4) normalised x, y, w, h (reordered from the stored h, w, x, y)
    theta: NDArray[np.float64]
    area: NDArray[np.float64]
    coco_bbox: NDArray[np.float64]  # (n, 4)


_TYPE_NAMES = {v: k for k, v in _DATA_TYPES.items()}


def decode_rows(blobs: Sequence[bytes]) -> GeometryRows:
    """Decode copies (none of them ``needs_json``) in one pass: a few slices per row, then one
    ``frombuffer`` per column."""
    counts: list[int] = []
    kinds: list[str | None] = []
    feature_counts: list[int] = []
    feature_texts: list[bytes] = []
    hash_texts: list[bytes] = []
    cols: list[list[bytes | memoryview]] = [[] for _ in range(8)]
    for blob in blobs:
        _, _, flags, kind, _, nf, n, fb, hb, _ = _HEADER.unpack_from(blob)
        counts.append(n)
        kinds.append(_TYPE_NAMES.get(kind))
        if not n:
            feature_counts.append(0)
            continue
        view = memoryview(blob)
        at = _HEADER.size
        feature_counts.append(nf)
        feature_texts.append(blob[at : at + fb])
        at += fb
        hash_texts.append(blob[at : at + hb])
        at += hb
        for i, width in enumerate((4 * n, 2 * n, n, 8 * n, 32 * n)):
            cols[i].append(view[at : at + width])
            at += width
        if flags & _F_THETA:
            cols[5].append(view[at : at + 8 * n])
            at += 8 * n
        else:
            cols[5].append(bytes(8 * n))
        if flags & _F_COCO:
            cols[6].append(view[at : at + 8 * n])
            cols[7].append(view[at + 8 * n : at + 40 * n])
        else:
            cols[6].append(bytes(8 * n))
            cols[7].append(bytes(32 * n))
    count = np.array(counts, dtype=np.int64)
    total = int(count.sum())
    features = b"\x00".join(feature_texts).decode("utf-8").split("\x00") if feature_texts else []
    hashes = b"\x00".join(hash_texts).decode("utf-8").split("\x00") if hash_texts else []
    row = np.repeat(np.arange(count.size, dtype=np.int64), count)
    offsets = np.concatenate([[0], np.cumsum(feature_counts, dtype=np.int64)[:-1]])
    local = np.frombuffer(b"".join(cols[1]), dtype="<u2").astype(np.int64)
    return GeometryRows(
        counts=count,
        data_types=tuple(kinds),
        row=row,
        frame=np.frombuffer(b"".join(cols[0]), dtype="<i4").astype(np.int64),
        feature=local + offsets[row] if total else local,
        features=tuple(features),
        object_hashes=hashes,
        bits=np.frombuffer(b"".join(cols[2]), dtype=np.uint8),
        score=np.frombuffer(b"".join(cols[3]), dtype="<f8").astype(np.float64),
        box=np.frombuffer(b"".join(cols[4]), dtype="<f8").reshape(total, 4)[:, [2, 3, 1, 0]],
        theta=np.frombuffer(b"".join(cols[5]), dtype="<f8").astype(np.float64),
        area=np.frombuffer(b"".join(cols[6]), dtype="<f8").astype(np.float64),
        coco_bbox=np.frombuffer(b"".join(cols[7]), dtype="<f8")
        .astype(np.float64)
        .reshape(total, 4),
    )
