"""Columnar evaluation inputs: one numpy array per field, never one object per annotation.

Images and categories are indices. Image index order must be the order pycocotools uses
(ascending image id) and category index order ascending category id, because ties in score are
broken by image order. The COCO reader and the analysis service both build these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from predscope.exceptions import EvaluationError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def _column(
    name: str, owner: str, values: object, dtype: type, n: int | None
) -> NDArray[np.generic]:
    arr: NDArray[np.generic] = np.ascontiguousarray(values, dtype=dtype)
    if arr.ndim != 1:
        raise EvaluationError(f"{owner}.{name}: expected a 1-D array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise EvaluationError(
            f"{owner}.{name}: has {arr.shape[0]} entries but bbox has {n} - give one per annotation"
        )
    return arr


def _boxes(owner: str, values: object) -> FloatArray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise EvaluationError(f"{owner}.bbox: expected shape (N, 4) [x, y, w, h], got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        row = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise EvaluationError(f"{owner}.bbox[{row}]: not finite - every box needs 4 real numbers")
    return arr


def _check_index(owner: str, name: str, arr: IntArray, upper: int, allow_minus_one: bool) -> None:
    lo = -1 if allow_minus_one else 0
    bad = (arr < lo) | (arr >= upper)
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise EvaluationError(
            f"{owner}.{name}[{row}]: index {int(arr[row])} is outside 0..{upper - 1}"
        )


def _pack(counts: Sequence[bytes | str]) -> tuple[NDArray[np.uint8], IntArray]:
    strs = [c.encode() if isinstance(c, str) else bytes(c) for c in counts]
    off = np.zeros(len(strs) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, strs), dtype=np.int64, count=len(strs)), out=off[1:])
    buf = np.frombuffer(b"".join(strs), dtype=np.uint8)
    return (buf if buf.size else np.zeros(1, dtype=np.uint8)), off


@dataclass(frozen=True, eq=False)
class RleMasks:
    """Compressed COCO RLE masks as columns: (height, width) and the counts strings.

    The strings are kept packed in one byte buffer (``packed``: buffer, offsets), which is what
    the compiled kernels read and far smaller than one Python string per mask.
    """

    size: IntArray
    counts: Sequence[bytes | str] = ()
    buffer: NDArray[np.uint8] | None = None
    offsets: IntArray | None = None

    def __post_init__(self) -> None:
        size = np.ascontiguousarray(self.size, dtype=np.int64).reshape(-1, 2)
        object.__setattr__(self, "size", size)
        if self.buffer is None or self.offsets is None:
            buf, off = _pack(self.counts)
            object.__setattr__(self, "buffer", buf)
            object.__setattr__(self, "offsets", off)
        object.__setattr__(self, "counts", ())
        if self.offsets is None or self.offsets.shape[0] != size.shape[0] + 1:
            n = 0 if self.offsets is None else self.offsets.shape[0] - 1
            raise EvaluationError(f"RleMasks: {size.shape[0]} sizes but {n} counts - give one each")

    @classmethod
    def from_strings(cls, size: IntArray, counts: Sequence[str]) -> RleMasks:
        """Pack ASCII counts strings without keeping them."""
        off = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, counts), dtype=np.int64, count=len(counts)), out=off[1:])
        raw = "".join(counts).encode("ascii")
        buf = np.frombuffer(raw, dtype=np.uint8) if raw else np.zeros(1, dtype=np.uint8)
        return cls(size=size, buffer=buf, offsets=off)

    def __len__(self) -> int:
        return int(self.size.shape[0])

    @property
    def packed(self) -> tuple[NDArray[np.uint8], IntArray]:
        """(byte buffer, offsets): mask i is ``buffer[offsets[i]:offsets[i + 1]]``."""
        if self.buffer is None or self.offsets is None:  # pragma: no cover - set in __post_init__
            raise EvaluationError("RleMasks: not packed")
        return self.buffer, self.offsets

    def counts_at(self, i: int) -> bytes:
        buf, off = self.packed
        return bytes(buf[off[i] : off[i + 1]])

    def take(self, rows: IntArray) -> RleMasks:
        """The masks at ``rows``, in that order (bytes gathered without Python strings)."""
        r = np.asarray(rows, dtype=np.int64).reshape(-1)
        buf, off = self.packed
        lengths = off[r + 1] - off[r]
        new_off = np.zeros(r.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_off[1:])
        src = np.repeat(off[r] - new_off[:-1], lengths) + np.arange(int(new_off[-1]))
        gathered = buf[src] if src.size else np.zeros(1, dtype=np.uint8)
        return RleMasks(size=self.size[r], buffer=np.ascontiguousarray(gathered), offsets=new_off)

    @staticmethod
    def concat(parts: Sequence[RleMasks]) -> RleMasks:
        """The masks of ``parts`` one after another."""
        bufs, offs, sizes = [], [np.zeros(1, dtype=np.int64)], []
        base = 0
        for m in parts:
            buf, off = m.packed
            bufs.append(buf[: int(off[-1])])
            offs.append(off[1:] + base)
            base += int(off[-1])
            sizes.append(m.size)
        joined = np.concatenate(bufs) if base else np.zeros(1, dtype=np.uint8)
        return RleMasks(
            size=np.concatenate(sizes) if sizes else np.zeros((0, 2), dtype=np.int64),
            buffer=np.ascontiguousarray(joined),
            offsets=np.concatenate(offs),
        )

    def subset(self, keep: NDArray[np.bool_]) -> RleMasks:
        """The masks where ``keep`` is true."""
        return RleMasks(
            size=self.size[keep], counts=[self.counts_at(int(i)) for i in np.flatnonzero(keep)]
        )

    def as_dicts(self, index: Sequence[int] | IntArray) -> list[dict[str, object]]:
        """The pycocotools form of the selected masks."""
        size = self.size
        return [
            {"size": [int(size[i, 0]), int(size[i, 1])], "counts": self.counts_at(int(i))}
            for i in index
        ]


@dataclass(frozen=True, eq=False)
class Polylines:
    """Polylines as columns: all points in one (P, 2) pixel array, line i is
    ``points[offsets[i]:offsets[i + 1]]`` (at least one point each).
    """

    points: FloatArray
    offsets: IntArray

    def __post_init__(self) -> None:
        pts = np.ascontiguousarray(self.points, dtype=np.float64).reshape(-1, 2)
        off = np.ascontiguousarray(self.offsets, dtype=np.int64).reshape(-1)
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "offsets", off)
        if off.size == 0 or off[0] != 0 or off[-1] != pts.shape[0] or np.any(np.diff(off) < 1):
            raise EvaluationError(
                "Polylines.offsets: must start at 0, end at the number of points and give every "
                "line at least one point"
            )
        if not np.all(np.isfinite(pts)):
            line = int(
                np.searchsorted(off, np.flatnonzero(~np.isfinite(pts).all(axis=1))[0], "right")
            )
            raise EvaluationError(f"Polylines[{line - 1}]: a point is not finite - fix that line")

    @classmethod
    def from_lists(cls, lines: Sequence[object]) -> Polylines:
        """Pack a list of (K, 2) point arrays (pixels)."""
        arrs = [np.asarray(line, dtype=np.float64).reshape(-1, 2) for line in lines]
        off = np.zeros(len(arrs) + 1, dtype=np.int64)
        np.cumsum([a.shape[0] for a in arrs], out=off[1:])
        pts = np.concatenate(arrs) if arrs else np.zeros((0, 2))
        return cls(points=pts, offsets=off)

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def line(self, i: int) -> FloatArray:
        return self.points[self.offsets[i] : self.offsets[i + 1]]

    def take(self, rows: IntArray) -> Polylines:
        """The lines at ``rows``, in that order."""
        return Polylines.from_lists([self.line(int(i)) for i in rows])


def _rotated(owner: str, values: FloatArray | None, n: int) -> FloatArray | None:
    if values is None:
        return None
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.size == 0:
        arr = arr.reshape(0, 5)
    if arr.ndim != 2 or arr.shape != (n, 5):
        raise EvaluationError(
            f"{owner}.rotated: expected shape ({n}, 5) pixel [x, y, w, h, theta], got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 2:4] < 0):
        row = int(np.flatnonzero(~np.isfinite(arr).all(axis=1) | (arr[:, 2:4] < 0).any(axis=1))[0])
        raise EvaluationError(
            f"{owner}.rotated[{row}]: needs finite numbers and w, h >= 0 - fix that box"
        )
    return arr


@dataclass(frozen=True, eq=False)
class CocoGroundTruth:
    """Ground truth of one evaluation: the image and category sets plus one row per annotation."""

    num_images: int
    category_ids: tuple[object, ...]
    image: IntArray
    category: IntArray
    bbox: FloatArray
    area: FloatArray
    iscrowd: BoolArray
    zero_id: BoolArray | None = None
    category_names: tuple[str, ...] = ()
    image_ids: tuple[object, ...] = ()
    masks: RleMasks | None = None
    keypoints: FloatArray | None = None
    num_keypoints: IntArray | None = None
    annotation_ids: tuple[object, ...] = field(default=())
    rotated: FloatArray | None = None  # (N, 5) pixel [x, y, w, h, theta degrees clockwise]
    polylines: Polylines | None = None
    image_size: FloatArray | None = None  # (num_images, 2) width, height in pixels

    def __post_init__(self) -> None:
        owner = "CocoGroundTruth"
        bbox = _boxes(owner, self.bbox)
        n = bbox.shape[0]
        object.__setattr__(self, "bbox", bbox)
        object.__setattr__(self, "category_ids", tuple(self.category_ids))
        object.__setattr__(self, "image", _column("image", owner, self.image, np.int64, n))
        object.__setattr__(self, "category", _column("category", owner, self.category, np.int64, n))
        object.__setattr__(self, "area", _column("area", owner, self.area, np.float64, n))
        object.__setattr__(self, "iscrowd", _column("iscrowd", owner, self.iscrowd, np.bool_, n))
        zero = np.zeros(n, dtype=np.bool_) if self.zero_id is None else self.zero_id
        object.__setattr__(self, "zero_id", _column("zero_id", owner, zero, np.bool_, n))
        _check_index(owner, "image", self.image, self.num_images, False)
        _check_index(owner, "category", self.category, len(self.category_ids), False)
        if np.any(np.isnan(self.area)):
            row = int(np.flatnonzero(np.isnan(self.area))[0])
            raise EvaluationError(f"{owner}.area[{row}]: NaN - every annotation needs an area")
        if self.category_names and len(self.category_names) != len(self.category_ids):
            raise EvaluationError(f"{owner}.category_names: need one name per category id")
        if self.image_ids and len(self.image_ids) != self.num_images:
            raise EvaluationError(f"{owner}.image_ids: need one id per image")
        if self.masks is not None and len(self.masks) != n:
            raise EvaluationError(
                f"{owner}.masks: need one mask per annotation, got {len(self.masks)}"
            )
        _check_keypoints(owner, self.keypoints, n)
        if self.num_keypoints is not None:
            nk = _column("num_keypoints", owner, self.num_keypoints, np.int64, n)
            object.__setattr__(self, "num_keypoints", nk)
        _check_shapes(self, owner, n)
        if self.image_size is not None:
            size = np.ascontiguousarray(self.image_size, dtype=np.float64)
            if size.shape != (self.num_images, 2) or not np.all(size > 0):
                raise EvaluationError(
                    f"{owner}.image_size: expected ({self.num_images}, 2) positive (width, height)"
                    f", got shape {size.shape}"
                )
            object.__setattr__(self, "image_size", size)

    @property
    def num_annotations(self) -> int:
        return int(self.bbox.shape[0])


@dataclass(frozen=True, eq=False)
class CocoDetections:
    """Detections of one model: one row per detection, in file order (file order breaks ties).

    ``category`` is -1 for a category the ground truth does not declare; such rows are dropped
    from evaluation, as pycocotools drops them.
    """

    image: IntArray
    category: IntArray
    bbox: FloatArray
    area: FloatArray
    score: FloatArray
    masks: RleMasks | None = None
    keypoints: FloatArray | None = None
    rotated: FloatArray | None = None  # (N, 5) pixel [x, y, w, h, theta degrees clockwise]
    polylines: Polylines | None = None

    def __post_init__(self) -> None:
        owner = "CocoDetections"
        bbox = _boxes(owner, self.bbox)
        n = bbox.shape[0]
        object.__setattr__(self, "bbox", bbox)
        object.__setattr__(self, "image", _column("image", owner, self.image, np.int64, n))
        object.__setattr__(self, "category", _column("category", owner, self.category, np.int64, n))
        object.__setattr__(self, "area", _column("area", owner, self.area, np.float64, n))
        object.__setattr__(self, "score", _column("score", owner, self.score, np.float64, n))
        if np.any(self.image < 0):
            row = int(np.flatnonzero(self.image < 0)[0])
            raise EvaluationError(f"{owner}.image[{row}]: negative image index")
        if np.any(self.category < -1):
            row = int(np.flatnonzero(self.category < -1)[0])
            raise EvaluationError(f"{owner}.category[{row}]: index below -1")
        for name in ("score", "area"):
            col = getattr(self, name)
            if np.any(np.isnan(col)):
                row = int(np.flatnonzero(np.isnan(col))[0])
                raise EvaluationError(f"{owner}.{name}[{row}]: NaN - give a real number")
        if self.masks is not None and len(self.masks) != n:
            raise EvaluationError(
                f"{owner}.masks: need one mask per detection, got {len(self.masks)}"
            )
        _check_keypoints(owner, self.keypoints, n)
        _check_shapes(self, owner, n)

    @property
    def num_detections(self) -> int:
        return int(self.bbox.shape[0])

    @cached_property
    def by_score(self) -> IntArray:
        """Rows by descending score, ties in file order: every matching's first sort, done
        once per detections object (its columns are not changed after construction)."""
        order: IntArray = np.argsort(-self.score, kind="stable").astype(np.int64)
        return order


def _check_keypoints(owner: str, keypoints: FloatArray | None, n: int) -> None:
    if keypoints is None:
        return
    if keypoints.ndim != 3 or keypoints.shape[0] != n or keypoints.shape[2] != 3:
        raise EvaluationError(
            f"{owner}.keypoints: expected shape (N, K, 3) [x, y, v] with N={n}, "
            f"got {keypoints.shape}"
        )


def _check_shapes(obj: CocoGroundTruth | CocoDetections, owner: str, n: int) -> None:
    object.__setattr__(obj, "rotated", _rotated(owner, obj.rotated, n))
    if obj.polylines is not None and len(obj.polylines) != n:
        raise EvaluationError(
            f"{owner}.polylines: need one polyline per row, got {len(obj.polylines)} for {n}"
        )
