"""The one COCO JSON reader: typed msgspec decoding straight into columns.

Accepts a dataset dict (``images``, ``categories``, ``annotations``; ``score`` optional) or a
results list (``[{image_id, category_id, bbox, score, ...}]``); ids may be ints or strings.
Annotations are decoded into short-lived structs and folded into numpy columns at once, so no
per-annotation object outlives the call. Every error is an ``ImportFormatError`` naming the
file, the record (``annotations[12]``) and the field.
"""

from __future__ import annotations

import gc
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Generic, Literal, TypeVar

import msgspec
import numpy as np
from numpy.typing import NDArray

from predscope.exceptions import IdTypeWarning, ImportFormatError

Fields = Literal["bbox", "segm", "keypoints", "all"]
Ids = NDArray[np.int64] | tuple[object, ...]
A = TypeVar("A")
_NAN = float("nan")


class CocoRle(msgspec.Struct, gc=False):
    """A COCO run-length mask: ``counts`` is a compressed string or an uncompressed list."""

    size: list[int]
    counts: str | list[int]


Segmentation = list[list[float]] | CocoRle


class _Image(msgspec.Struct, gc=False):
    id: int | str
    width: int | None = None
    height: int | None = None
    file_name: str | None = None


class _Category(msgspec.Struct, gc=False):
    id: int | str
    name: str = ""
    supercategory: str = ""
    keypoints: list[str] | None = None
    skeleton: list[list[int]] | None = None


class _AnnBox(msgspec.Struct, gc=False):
    image_id: int | str
    category_id: int | str
    id: int | str | None = None
    bbox: list[float] | None = None
    area: float = _NAN  # JSON has no NaN, so NaN means "absent"
    iscrowd: int | bool = 0
    score: float = _NAN


class _AnnSegm(_AnnBox, gc=False):
    segmentation: Segmentation | None = None


class _AnnKp(_AnnBox, gc=False):
    keypoints: list[float] | None = None
    num_keypoints: int | None = None


class _AnnAll(_AnnBox, gc=False):
    segmentation: Segmentation | None = None
    keypoints: list[float] | None = None
    num_keypoints: int | None = None


class _Dataset(msgspec.Struct, Generic[A], gc=False):
    images: list[_Image]
    categories: list[_Category]
    annotations: list[A] = []


# Column getters (C-level attribute access: a 500,000-annotation file reads each field once).
_GET_ID = attrgetter("id")
_GET_IMAGE = attrgetter("image_id")
_GET_CATEGORY = attrgetter("category_id")
_GET_BBOX = attrgetter("bbox")
_GET_AREA = attrgetter("area")
_GET_CROWD = attrgetter("iscrowd")
_GET_SCORE = attrgetter("score")
_GET_SEGM = attrgetter("segmentation")
_GET_KPS = attrgetter("keypoints")
_GET_NKP = attrgetter("num_keypoints")

_ANN_TYPES: dict[str, type] = {
    "bbox": _AnnBox,
    "segm": _AnnSegm,
    "keypoints": _AnnKp,
    "all": _AnnAll,
}


@dataclass(frozen=True, eq=False)
class CocoImages:
    """Images in file order."""

    ids: tuple[object, ...]
    width: NDArray[np.int64]  # -1 when missing
    height: NDArray[np.int64]
    file_names: tuple[str | None, ...]


@dataclass(frozen=True, eq=False)
class CocoCategories:
    """Categories in file order."""

    ids: tuple[object, ...]
    names: tuple[str, ...]
    supercategories: tuple[str, ...]
    keypoints: tuple[tuple[str, ...] | None, ...]
    skeletons: tuple[list[list[int]] | None, ...]


@dataclass(frozen=True, eq=False)
class CocoAnnotations:
    """Annotation columns; missing numbers are NaN, missing objects None."""

    ids: tuple[object, ...]  # None where the file has no id
    image_id: Ids
    category_id: Ids
    bbox: NDArray[np.float64]  # [N, 4]; NaN row when absent or empty
    has_bbox: NDArray[np.bool_]
    area: NDArray[np.float64]
    iscrowd: NDArray[np.bool_]
    score: NDArray[np.float64]
    segmentation: tuple[Segmentation | None, ...] | None
    keypoints: tuple[list[float] | None, ...] | None
    num_keypoints: NDArray[np.int64] | None  # -1 when absent

    def __len__(self) -> int:
        return int(self.bbox.shape[0])


@dataclass(frozen=True, eq=False)
class CocoFile:
    """A parsed COCO file: a dataset (images and categories set) or a bare results list."""

    source: str
    kind: Literal["dataset", "results"]
    annotations: CocoAnnotations
    images: CocoImages | None = None
    categories: CocoCategories | None = None


_AT = re.compile(r" - at `\$(.*)`$")
_BYTE = re.compile(r"\(byte (\d+)\)")


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


def _decode_error(source: str, data: bytes, exc: Exception) -> ImportFormatError:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        m = _AT.search(text)
        where = m.group(1).lstrip(".") if m else ""
        problem = _AT.sub("", text)
        hint = "fix the value's type" if where else "this does not look like a COCO file"
        if not where:
            hint = "expected a COCO dataset object or a results list"
        return ImportFormatError(source, where, problem, hint)
    m = _BYTE.search(text)
    if m:
        offset = int(m.group(1))
        line, col = _line_col(data, offset)
        hint = "the file is not valid JSON"
        if data[offset : offset + 9].lstrip(b"-").startswith((b"NaN", b"Infinity")):
            hint = (
                "JSON has no NaN or Infinity (Python's json.dump writes them unless "
                "allow_nan=False) - write null or a finite number"
            )
        return ImportFormatError(source, f"line {line}, column {col}", text, hint)
    # msgspec names no byte for input that simply stops: the problem is at the end of the file.
    line, col = _line_col(data, len(data))
    return ImportFormatError(
        source, f"line {line}, column {col}", text, "the file ends early - it looks truncated"
    )


def _ids_column(values: list[object]) -> Ids:
    arr = np.array(values) if values else np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "i" and arr.ndim == 1:
        return arr.astype(np.int64, copy=False)
    return tuple(values)


def _bbox_column(
    source: str, prefix: str, anns: Sequence[_AnnBox], base: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    n = len(anns)
    boxes = list(map(_GET_BBOX, anns))
    if n and None not in boxes and set(map(len, boxes)) == {4}:
        # The common case (every annotation has a 4-number bbox): one flat pass, no 2-D guess.
        flat = np.fromiter(chain.from_iterable(boxes), dtype=np.float64, count=4 * n)
        return flat.reshape(n, 4), np.ones(n, dtype=np.bool_)
    has = np.array([b is not None and len(b) > 0 for b in boxes], dtype=np.bool_).reshape(n)
    out = np.full((n, 4), np.nan, dtype=np.float64)
    for i, a in enumerate(anns):
        if a.bbox:
            if len(a.bbox) != 4:
                raise ImportFormatError(
                    source,
                    _where(prefix, base + i, "bbox"),
                    f"has {len(a.bbox)} numbers, expected 4 [x, y, width, height]",
                )
            out[i] = a.bbox
    return out, has


def _where(prefix: str, i: int, field: str) -> str:
    return f"{prefix}[{i}].{field}" if prefix else f"[{i}].{field}"


def _check_numbers(source: str, prefix: str, ann: CocoAnnotations, base: int = 0) -> None:
    bad_box = ann.has_bbox & ~np.isfinite(ann.bbox).all(axis=1)
    if bad_box.any():
        i = int(np.flatnonzero(bad_box)[0])
        raise ImportFormatError(
            source, _where(prefix, base + i, "bbox"), "contains NaN or infinity"
        )
    neg = ann.has_bbox & ((ann.bbox[:, 2] < 0) | (ann.bbox[:, 3] < 0))
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise ImportFormatError(
            source,
            _where(prefix, base + i, "bbox"),
            f"negative width or height {ann.bbox[i, 2:].tolist()}",
            "COCO boxes are [x, y, width, height] with width, height >= 0",
        )
    for name in ("area", "score"):
        col = getattr(ann, name)
        present = ~np.isnan(col)
        bad = present & ~np.isfinite(col)
        if name == "area":
            bad |= present & (col < 0)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ImportFormatError(
                source,
                _where(prefix, base + i, name),
                f"invalid value {float(col[i])!r}",
                "give a finite, non-negative number",
            )


def _annotation_columns(
    source: str, prefix: str, anns: Sequence[_AnnBox], base: int = 0
) -> CocoAnnotations:
    n = len(anns)
    bbox, has_bbox = _bbox_column(source, prefix, anns, base)
    segm = None
    if anns and hasattr(anns[0], "segmentation"):
        segm = tuple(map(_GET_SEGM, anns))
    kps = None
    nkp = None
    if anns and hasattr(anns[0], "keypoints"):
        kps = tuple(map(_GET_KPS, anns))
        counts = list(map(_GET_NKP, anns))
        nkp = np.array([-1 if c is None else c for c in counts], dtype=np.int64).reshape(n)
    cols = CocoAnnotations(
        ids=tuple(map(_GET_ID, anns)),
        image_id=_ids_column(list(map(_GET_IMAGE, anns))),
        category_id=_ids_column(list(map(_GET_CATEGORY, anns))),
        bbox=bbox,
        has_bbox=has_bbox,
        area=np.fromiter(map(_GET_AREA, anns), dtype=np.float64, count=n),
        iscrowd=np.array(list(map(_GET_CROWD, anns)), dtype=np.bool_).reshape(n),
        score=np.fromiter(map(_GET_SCORE, anns), dtype=np.float64, count=n),
        segmentation=segm,
        keypoints=kps,
        num_keypoints=nkp,
    )
    _check_numbers(source, prefix, cols, base)
    return cols


def _unique(source: str, what: str, ids: Sequence[object]) -> None:
    seen: set[object] = set()
    for i, v in enumerate(ids):
        if v in seen:
            raise ImportFormatError(
                source, f"{what}[{i}].id", f"duplicate id {v!r}", "every id must be unique"
            )
        seen.add(v)


def read_coco(data: bytes, source: str = "<bytes>", fields: Fields = "all") -> CocoFile:
    """Parse COCO JSON bytes; ``fields`` limits which annotation fields are decoded (speed)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark, as some Windows editors write: not content
    head = data[:64].lstrip()[:1] or data.lstrip()[:1]
    if not head:
        raise ImportFormatError(source, "", "the file is empty", "expected COCO JSON")
    ann_type = _ANN_TYPES[fields]
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived containers: collection passes only cost time
    try:
        return _read(data, source, head, ann_type)
    finally:
        if gc_was_enabled:
            gc.enable()


_CHUNK = 32768
_CHUNK_AT = re.compile(r"^\[(\d+)\]")


def _chunked_columns(
    source: str, prefix: str, raws: list[msgspec.Raw], ann_type: type
) -> CocoAnnotations:
    """Decode annotations a chunk at a time, so only one chunk of structs is alive at once."""
    decoder = msgspec.json.Decoder(list[ann_type])  # type: ignore[valid-type]
    parts = []
    for base in range(0, len(raws), _CHUNK):
        payload = b"[" + b",".join(raws[base : base + _CHUNK]) + b"]"
        try:
            items = decoder.decode(payload)
        except msgspec.ValidationError as exc:
            text = str(exc)
            m = _AT.search(text)
            path = m.group(1) if m else ""
            at = _CHUNK_AT.match(path)
            if at:
                path = f"[{base + int(at.group(1))}]" + path[at.end() :]
            where = f"{prefix}{path}" if prefix else path
            raise ImportFormatError(
                source, where, _AT.sub("", text), "fix the value's type"
            ) from None
        parts.append(_annotation_columns(source, prefix, items, base))
        del items
    if not parts:
        return _annotation_columns(source, prefix, decoder.decode(b"[]"))
    return parts[0] if len(parts) == 1 else _concat(parts)


def _concat_ids(cols: list[Ids]) -> Ids:
    if all(isinstance(c, np.ndarray) for c in cols):
        return np.concatenate(cols)  # type: ignore[arg-type]
    return tuple(chain.from_iterable(c.tolist() if isinstance(c, np.ndarray) else c for c in cols))


def _concat(parts: list[CocoAnnotations]) -> CocoAnnotations:
    def opt_tuple(name: str) -> tuple[object, ...] | None:
        cols = [getattr(p, name) for p in parts]
        return None if cols[0] is None else tuple(chain.from_iterable(c or () for c in cols))

    nkp = [p.num_keypoints for p in parts]
    return CocoAnnotations(
        ids=tuple(chain.from_iterable(p.ids for p in parts)),
        image_id=_concat_ids([p.image_id for p in parts]),
        category_id=_concat_ids([p.category_id for p in parts]),
        bbox=np.concatenate([p.bbox for p in parts]),
        has_bbox=np.concatenate([p.has_bbox for p in parts]),
        area=np.concatenate([p.area for p in parts]),
        iscrowd=np.concatenate([p.iscrowd for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        segmentation=opt_tuple("segmentation"),  # type: ignore[arg-type]
        keypoints=opt_tuple("keypoints"),  # type: ignore[arg-type]
        num_keypoints=None if nkp[0] is None else np.concatenate(nkp),  # type: ignore[arg-type]
    )


def _read(data: bytes, source: str, head: bytes, ann_type: type) -> CocoFile:
    try:
        if head == b"[":
            raws = msgspec.json.decode(data, type=list[msgspec.Raw])
        else:
            ds = msgspec.json.decode(data, type=_Dataset[msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _decode_error(source, data, exc) from None
    if head == b"[":
        return CocoFile(source, "results", _chunked_columns(source, "", raws, ann_type))
    _unique(source, "images", [im.id for im in ds.images])
    _unique(source, "categories", [c.id for c in ds.categories])
    images = CocoImages(
        ids=tuple(im.id for im in ds.images),
        width=np.array([-1 if im.width is None else im.width for im in ds.images], np.int64),
        height=np.array([-1 if im.height is None else im.height for im in ds.images], np.int64),
        file_names=tuple(im.file_name for im in ds.images),
    )
    cats = CocoCategories(
        ids=tuple(c.id for c in ds.categories),
        names=tuple(c.name for c in ds.categories),
        supercategories=tuple(c.supercategory for c in ds.categories),
        keypoints=tuple(None if c.keypoints is None else tuple(c.keypoints) for c in ds.categories),
        skeletons=tuple(c.skeleton for c in ds.categories),
    )
    ann = _chunked_columns(source, "annotations", ds.annotations, ann_type)
    del ds
    return CocoFile(source, "dataset", ann, images, cats)


def read_coco_file(path: str, fields: Fields = "all") -> CocoFile:
    """Read and parse one COCO file (the only file access of the reader)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ImportFormatError(path, "", f"cannot read the file: {exc.strerror}") from None
    return read_coco(data, path, fields)


_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
_ID_LISTS = {"image_id": "images", "category_id": "categories"}


def id_key(value: object) -> object:
    """The id a value stands for: a string holding a plain integer ("2299") is that integer."""
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return int(value)
    return value


def _kind(value: object) -> str:
    return "a string" if isinstance(value, str) else "a number"


def index_of(
    source: str, prefix: str, field: str, values: Ids, ids: Sequence[object]
) -> NDArray[np.int64]:
    """Position of each value in ``ids`` (file order), -1 where unknown.

    A value that only matches once numbers and integer strings are read alike ("2299" and
    2299) matches, with an ``IdTypeWarning`` naming both places.
    """
    pos = _exact_index(values, ids)
    missing = np.flatnonzero(pos < 0)
    if missing.size == 0 or not ids:
        return pos
    lookup: dict[object, int] = {}
    for i, v in enumerate(ids):
        lookup.setdefault(id_key(v), i)
    seq = values.tolist() if isinstance(values, np.ndarray) else values
    first: tuple[int, int] | None = None
    count = 0
    for m in missing.tolist():
        hit = lookup.get(id_key(seq[m]), -1)
        if hit >= 0:
            pos[m] = hit
            count += 1
            first = first or (m, hit)
    if first is not None:
        m, hit = first
        where = f"{prefix}[{m}].{field}" if prefix else f"[{m}].{field}"
        target = f"{_ID_LISTS.get(field, 'ids')}[{hit}].id"
        more = f" (and {count - 1} more like it)" if count > 1 else ""
        warnings.warn(
            f"{source}: {where} is {_kind(seq[m])} {seq[m]!r} while {target} is "
            f"{_kind(ids[hit])} {ids[hit]!r}{more} - read as one id; write ids with one type",
            IdTypeWarning,
            stacklevel=2,
        )
    return pos


def _exact_index(values: Ids, ids: Sequence[object]) -> NDArray[np.int64]:
    if isinstance(values, np.ndarray) and all(type(v) is int for v in ids):
        id_arr = np.array(ids, dtype=np.int64).reshape(-1)
        order = np.argsort(id_arr, kind="stable")
        sorted_ids = id_arr[order]
        pos = np.searchsorted(sorted_ids, values)
        pos_c = np.minimum(pos, max(sorted_ids.size - 1, 0))
        found = (
            (sorted_ids.size > 0) & (sorted_ids[pos_c] == values)
            if sorted_ids.size
            else (np.zeros(values.shape, np.bool_))
        )
        return np.where(found, order[pos_c] if sorted_ids.size else -1, -1).astype(np.int64)
    lookup = {v: i for i, v in enumerate(ids)}
    seq = values.tolist() if isinstance(values, np.ndarray) else values
    return np.fromiter((lookup.get(v, -1) for v in seq), dtype=np.int64, count=len(seq))


def sorted_order(source: str, what: str, ids: Sequence[object]) -> NDArray[np.int64]:
    """File positions in ascending-id order, as pycocotools sorts ``getImgIds`` / ``getCatIds``."""
    try:
        order = sorted(range(len(ids)), key=lambda i: ids[i])  # type: ignore[arg-type,return-value]
    except TypeError:
        order = _mixed_order(source, what, ids)
    return np.array(order, dtype=np.int64).reshape(-1)


def _mixed_order(source: str, what: str, ids: Sequence[object]) -> list[int]:
    """Ascending order of ids mixing numbers and integer strings, read as numbers."""
    keys = [id_key(v) for v in ids]
    if not all(type(k) is int for k in keys):
        raise ImportFormatError(
            source, what, "mixes integer and string ids", "use one id type throughout"
        )
    seen: dict[object, int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            raise ImportFormatError(
                source,
                f"{what}[{i}].id",
                f"{ids[i]!r} is the same id as {what}[{seen[k]}].id {ids[seen[k]]!r}",
                "every id must be unique",
            )
        seen[k] = i
    s = next(i for i, v in enumerate(ids) if isinstance(v, str))
    n = next(i for i, v in enumerate(ids) if not isinstance(v, str))
    warnings.warn(
        f"{source}: {what}[{s}].id is the string {ids[s]!r} while {what}[{n}].id is the number "
        f"{ids[n]!r} - integer strings are read as numbers; write ids with one type",
        IdTypeWarning,
        stacklevel=3,
    )
    return sorted(range(len(ids)), key=lambda i: keys[i])  # type: ignore[arg-type,return-value]
