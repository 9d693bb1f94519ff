"""Bitmask RLE codec and ``BitmaskCoordinates``.

Encord's ``rleString`` is pycocotools' compressed-RLE character encoding applied to the ROW-major
flattening of the mask, i.e. the COCO ``counts`` of ``mask.T``. COCO itself is column-major. The
string is decoded to run lengths with numpy (validating that the runs cover exactly height*width
pixels, which pycocotools does not check), and pixels are produced by pycocotools in C.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pycocotools.mask as coco_mask
from numpy.typing import NDArray

from predscope.exceptions import CoordinatesError


def rle_string_to_counts(s: str, where: str = "rleString") -> NDArray[np.int64]:
    """Run lengths of a compressed-RLE string (zeros first), vectorised over the characters."""
    try:
        raw = np.frombuffer(s.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise CoordinatesError(
            f"{where}: RLE string has non-ASCII characters - pass a pycocotools-style RLE string"
        ) from None
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    if raw.min() < 0 or raw.max() > 63:
        raise CoordinatesError(
            f"{where}: RLE string has characters outside '0'..'o' - it is not a compressed RLE"
        )
    more = (raw & 0x20) != 0
    if more[-1]:
        raise CoordinatesError(f"{where}: RLE string is truncated (last count is unfinished)")
    ends = np.flatnonzero(~more)
    group = np.zeros(raw.size, dtype=np.int64)
    group[ends[:-1] + 1] = 1
    group = np.cumsum(group)
    starts = np.concatenate(([0], ends[:-1] + 1))
    pos = np.arange(raw.size, dtype=np.int64) - starts[group]
    if pos.max() > 11:
        raise CoordinatesError(f"{where}: RLE string has a count too large to be a pixel run")
    values = np.zeros(ends.size, dtype=np.int64)
    np.add.at(values, group, (raw & 0x1F) << (5 * pos))
    # The last 5-bit group of each count carries the sign in its 0x10 bit.
    negative = (raw[ends] & 0x10) != 0
    width = 5 * (pos[ends] + 1)
    values = np.where(negative, values - (np.int64(1) << width), values)
    counts = values.copy()
    # From the fourth count on, each is stored as the difference from the count two places back.
    if counts.size > 3:
        counts[1::2] = np.cumsum(values[1::2])
        counts[2::2] = np.cumsum(values[2::2])
    return counts


def _check_size(height: int, width: int, where: str) -> None:
    for name, v in (("height", height), ("width", width)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise CoordinatesError(f"{where}: {name} {v!r} must be a positive int")


def check_rle_string(s: str, height: int, width: int, where: str = "bitmask") -> NDArray[np.int64]:
    """Run lengths of ``s``; raises unless they cover exactly ``height*width`` pixels."""
    _check_size(height, width, where)
    if not isinstance(s, str):
        raise CoordinatesError(f"{where}.rleString: expected a str, got {type(s).__name__}")
    counts = rle_string_to_counts(s, f"{where}.rleString")
    if counts.size and counts.min() < 0:
        raise CoordinatesError(f"{where}.rleString: RLE has a negative run length (corrupt data)")
    total = int(counts.sum())
    if total != height * width:
        raise CoordinatesError(
            f"{where}.rleString: RLE covers {total} pixels but height*width is "
            f"{height}*{width}={height * width} - height/width do not belong to this mask"
        )
    return counts


def _expand(counts: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Flat pixels of validated run lengths (zeros first), vectorised with ``np.repeat``."""
    values = (np.arange(counts.size) % 2).astype(np.bool_)
    return np.repeat(values, counts)


def encode_rle_string(mask: NDArray[Any]) -> str:
    """Encord ``rleString`` of a 2-D mask (row-major runs)."""
    if mask.ndim != 2:
        raise CoordinatesError(f"bitmask: array has {mask.ndim} dimensions, expected 2 (H, W)")
    # For a C-ordered mask, mask.T is already Fortran-ordered: no copy before pycocotools.
    fortran = np.asfortranarray((mask != 0).astype(np.uint8, copy=False).T)
    counts: bytes = coco_mask.encode(fortran)["counts"]
    return counts.decode("ascii")


def decode_rle_string(s: str, height: int, width: int) -> NDArray[np.bool_]:
    """(height, width) bool mask of an Encord ``rleString``; validates the pixel count first."""
    counts = check_rle_string(s, height, width)
    return _expand(counts).reshape(height, width)


def _coco_counts(rle: Mapping[str, Any], where: str) -> tuple[NDArray[np.int64], int, int]:
    """Validated column-major run lengths and (height, width) of a COCO RLE."""
    size = rle.get("size") if isinstance(rle, Mapping) else None
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise CoordinatesError(f"{where}.size: expected [height, width], got {size!r}")
    height, width = size
    _check_size(height, width, f"{where}.size")
    counts = rle.get("counts")
    if isinstance(counts, (str, bytes)):
        text = counts.decode("ascii") if isinstance(counts, bytes) else counts
        return check_rle_string(text, height, width, where), int(height), int(width)
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise CoordinatesError(f"{where}.counts: uncompressed counts must be ints >= 0")
        if sum(counts) != height * width:
            raise CoordinatesError(
                f"{where}.counts: counts cover {sum(counts)} pixels but size is "
                f"{height}x{width}={height * width} - size does not belong to this RLE"
            )
        return np.asarray(counts, dtype=np.int64), int(height), int(width)
    raise CoordinatesError(
        f"{where}.counts: expected a compressed string or a list of ints,"
        f" got {type(counts).__name__}"
    )


def coco_rle_to_rle_string(rle: Mapping[str, Any], where: str = "rle") -> tuple[str, int, int]:
    """COCO RLE (column-major, compressed or not) to ``(rleString, height, width)``."""
    counts, height, width = _coco_counts(rle, where)
    mask = _expand(counts).reshape((height, width), order="F")
    return encode_rle_string(mask), height, width


def rle_string_to_coco_rle(s: str, height: int, width: int) -> dict[str, Any]:
    """Compressed COCO RLE ``{"size": [h, w], "counts": str}`` of an Encord ``rleString``."""
    mask = decode_rle_string(s, height, width)
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [height, width], "counts": encoded["counts"].decode("ascii")}


class BitmaskCoordinates:
    """A full-frame bitmask kept as its Encord RLE string (never silently re-encoded)."""

    __slots__ = ("_height", "_rle_string", "_width")

    _height: int
    _width: int
    _rle_string: str

    def __init__(self, source: Any) -> None:
        if isinstance(source, BitmaskCoordinates):
            rle, height, width = source._rle_string, source._height, source._width
        elif isinstance(source, Mapping):
            rle, height, width = self._read_dict(source)
        elif hasattr(source, "__array_interface__") or isinstance(source, np.ndarray):
            array = np.asarray(source)
            if array.ndim != 2:
                raise CoordinatesError(
                    f"bitmask: array has shape {array.shape}, expected 2-D (height, width)"
                    " - pass one mask per object"
                )
            if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
                raise CoordinatesError(
                    "bitmask: array values must be 0/1 or bool - threshold the mask first"
                )
            height, width = int(array.shape[0]), int(array.shape[1])
            _check_size(height, width, "bitmask")
            rle = encode_rle_string(array)
        else:
            raise CoordinatesError(
                f"bitmask: cannot build a bitmask from {type(source).__name__}"
                " - pass a 2-D numpy array or an Encord bitmask dict"
            )
        object.__setattr__(self, "_height", height)
        object.__setattr__(self, "_width", width)
        object.__setattr__(self, "_rle_string", rle)

    @staticmethod
    def _read_dict(d: Mapping[str, Any]) -> tuple[str, int, int]:
        inner = d.get("bitmask", d)
        if not isinstance(inner, Mapping):
            raise CoordinatesError("bitmask: expected a dict {top, left, height, width, rleString}")
        missing = [k for k in ("height", "width", "rleString") if k not in inner]
        if missing:
            raise CoordinatesError(f"bitmask: missing key(s) {missing} in Encord bitmask dict")
        for key in ("top", "left"):
            if inner.get(key, 0) != 0:
                raise CoordinatesError(
                    f"bitmask.{key}: {inner[key]!r} is not 0 - Encord bitmasks span the whole frame"
                )
        height, width, rle = inner["height"], inner["width"], inner["rleString"]
        check_rle_string(rle, height, width)
        return rle, int(height), int(width)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("BitmaskCoordinates is immutable")

    @property
    def height(self) -> int:
        return self._height

    @property
    def width(self) -> int:
        return self._width

    @property
    def rle_string(self) -> str:
        return self._rle_string

    def to_numpy_array(self) -> NDArray[np.bool_]:
        return decode_rle_string(self._rle_string, self._height, self._width)

    def to_dict(self) -> dict[str, Any]:
        return {
            "top": 0,
            "left": 0,
            "height": self._height,
            "width": self._width,
            "rleString": self._rle_string,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BitmaskCoordinates:
        """Read an Encord bitmask dict (or a frame object holding one under ``bitmask``)."""
        return cls(d)

    @classmethod
    def from_coco_rle(cls, rle: Mapping[str, Any]) -> BitmaskCoordinates:
        rle_string, height, width = coco_rle_to_rle_string(rle)
        return cls({"height": height, "width": width, "rleString": rle_string})

    def to_coco_rle(self) -> dict[str, Any]:
        return rle_string_to_coco_rle(self._rle_string, self._height, self._width)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        array = self.to_numpy_array()
        return array if dtype is None else array.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BitmaskCoordinates):
            return NotImplemented
        return (self._height, self._width, self._rle_string) == (
            other._height,
            other._width,
            other._rle_string,
        )

    def __hash__(self) -> int:
        return hash((self._height, self._width, self._rle_string))

    def __repr__(self) -> str:
        return f"BitmaskCoordinates(height={self._height}, width={self._width})"
