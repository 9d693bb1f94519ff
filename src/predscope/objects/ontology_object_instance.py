"""One drawn object (a track, for video) with per-frame geometry and attribute answers.

Built for the prediction-import hot path: ``create_instance`` -> ``set_for_frames`` ->
``add_object_instance`` costs a few microseconds per box (slots, no copies, one type check).
"""

from __future__ import annotations

import base64
import math
import os
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from predscope.exceptions import (
    AnswerError,
    CoordinatesError,
    FrameError,
    InvalidArgumentsError,
    LabelRowError,
)
from predscope.objects.answers import AnswerForFrames, AnswerSet, AnswerValue, check_answer
from predscope.objects.attributes import Attribute
from predscope.objects.common import Shape
from predscope.objects.coordinates import SHAPE_COORDINATES
from predscope.objects.frames import Frames, Range, frames_to_list
from predscope.objects.label_row_metadata import now_string, parse_time

if TYPE_CHECKING:
    from predscope.objects.label_row import LabelRowV2
    from predscope.objects.ontology_object import Object

_isfinite = math.isfinite
RANGE_SHAPES = frozenset({Shape.AUDIO, Shape.TEXT, Shape.TIME_RANGE})


# Shape -> (coordinate classes it takes, range-based?), keyed by the member's id: ``Shape`` is an
# enum whose hash runs Python code, too slow for the per-annotation path. Members live forever.
_SHAPE_INFO: dict[int, tuple[tuple[type, ...], bool]] = {
    id(shape): (SHAPE_COORDINATES.get(shape, ()), shape in RANGE_SHAPES) for shape in Shape
}


def shape_info(shape: Any) -> tuple[tuple[type, ...], bool]:
    """The coordinate classes ``shape`` takes and whether it is range-based (audio, text)."""
    info = _SHAPE_INFO.get(id(shape))
    if info is None:
        info = (SHAPE_COORDINATES.get(shape, ()), shape in RANGE_SHAPES)
    return info


# [time at which the cached string goes stale, the string]: one clock read per annotation.
_NOW: list[Any] = [0.0, ""]
_clock = time.time


def _now() -> str:
    """``now_string()`` without its per-call formatting work."""
    t = _clock()
    if t >= _NOW[0]:
        # Expiry from this read, text read after it: the text is never older than the expiry.
        _NOW[0], _NOW[1] = math.floor(t) + 1.0, now_string()
    return _NOW[1]  # type: ignore[no-any-return]


_POOL: list[str] = []
# A forked child must not hand out the parent's remaining hashes.
os.register_at_fork(after_in_child=_POOL.clear)


def new_hash() -> str:
    """8-character base64 of 6 random bytes, like the SDK (may contain ``/`` and ``+``).

    Random bytes are drawn 6 KiB at a time: 6 bytes map to exactly 8 base64 characters, so
    slicing one encoded block gives independent hashes at a fraction of the per-call cost.
    """
    if not _POOL:
        block = base64.b64encode(os.urandom(6 * 1024)).decode("ascii")
        _POOL.extend(block[i : i + 8] for i in range(0, len(block), 8))
    return _POOL.pop()


def check_confidence(value: Any, where: str) -> float:
    """Any finite real, kept as given (an int stays an int so JSON round-trips)."""
    if type(value) is float or type(value) is int:
        if math.isfinite(value):
            return value
    elif not isinstance(value, bool):
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            as_float = math.nan
        if math.isfinite(as_float) and not isinstance(value, (str, bytes)):
            return as_float
    raise InvalidArgumentsError(
        f"{where}: confidence {value!r} is not a finite number - pass a float such as 0.87"
    )


class Annotation:
    """One frame of an instance. Times are kept as given (strings read from JSON stay strings)."""

    __slots__ = (
        "frame",
        "coordinates",
        "confidence",
        "manual_annotation",
        "_created_at",
        "created_by",
        "_last_edited_at",
        "last_edited_by",
        "reviews",
        "is_deleted",
        "extra",
    )

    def __init__(
        self,
        frame: int,
        coordinates: Any,
        confidence: float = 1.0,
        manual_annotation: bool = True,
        created_at: datetime | str | None = None,
        created_by: str | None = None,
        last_edited_at: datetime | str | None = None,
        last_edited_by: str | None = None,
        reviews: Any = None,
        is_deleted: bool | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.frame = frame
        self.coordinates = coordinates
        self.confidence = confidence
        self.manual_annotation = manual_annotation
        self._created_at = created_at
        self.created_by = created_by
        self._last_edited_at = last_edited_at
        self.last_edited_by = last_edited_by
        self.reviews = reviews
        self.is_deleted = is_deleted
        self.extra = extra

    @property
    def created_at(self) -> datetime | None:
        return parse_time(self._created_at)

    @property
    def last_edited_at(self) -> datetime | None:
        return parse_time(self._last_edited_at)

    @property
    def raw_created_at(self) -> datetime | str | None:
        return self._created_at

    @property
    def raw_last_edited_at(self) -> datetime | str | None:
        return self._last_edited_at

    def __repr__(self) -> str:
        return (
            f"Annotation(frame={self.frame}, coordinates={self.coordinates!r}, "
            f"confidence={self.confidence!r}, manual_annotation={self.manual_annotation})"
        )


def frame_list(frames: Frames | Iterable[int | Range]) -> list[int]:
    if type(frames) is int:
        if frames < 0:
            raise FrameError(f"frames: frame {frames} is negative - frames count from 0")
        return [frames]
    return frames_to_list(frames)


class ObjectInstance:
    """An instance of an ontology ``Object``; ``object_hash`` is stable across frames."""

    __slots__ = ("_object", "_hash", "_frames", "_answers", "_parent", "_extra")

    def __init__(self, ontology_object: Object, object_hash: str | None = None) -> None:
        self._object = ontology_object
        if object_hash is None:
            object_hash = _POOL.pop() if _POOL else new_hash()
        self._hash = object_hash
        self._frames: dict[int, Annotation] = {}
        self._answers: AnswerSet | None = None
        self._parent: LabelRowV2 | None = None
        # Unknown keys of this object's ``object_answers`` entry, written back unchanged; made on
        # first use (most instances never have any: one allocation less per prediction).
        self._extra: dict[str, Any] | None = None

    @property
    def extra(self) -> dict[str, Any]:
        extra = self._extra
        if extra is None:
            extra = self._extra = {}
        return extra

    @extra.setter
    def extra(self, value: dict[str, Any]) -> None:
        self._extra = value

    # -- identity ----------------------------------------------------------------------------

    @property
    def object_hash(self) -> str:
        return self._hash

    @property
    def object_name(self) -> str:
        return self._object.name

    @property
    def feature_hash(self) -> str:
        return self._object.feature_node_hash

    @property
    def ontology_item(self) -> Object:
        return self._object

    @property
    def is_range_based(self) -> bool:
        return shape_info(self._object.shape)[1]

    def __repr__(self) -> str:
        return (
            f"ObjectInstance(object_hash={self._hash!r}, object_name={self._object.name!r}, "
            f"frames={sorted(self._frames)[:10]})"
        )

    # -- geometry ----------------------------------------------------------------------------

    def set_for_frames(
        self,
        coordinates: Any,
        frames: Frames = 0,
        *,
        overwrite: bool = False,
        created_at: datetime | str | None = None,
        created_by: str | None = None,
        last_edited_at: datetime | str | None = None,
        last_edited_by: str | None = None,
        confidence: float | None = None,
        manual_annotation: bool | None = None,
        reviews: Any = None,
        is_deleted: bool | None = None,
    ) -> None:
        shape = self._object.shape
        info = _SHAPE_INFO.get(id(shape))
        allowed, ranged = info if info is not None else shape_info(shape)
        if type(coordinates) not in allowed and not isinstance(coordinates, allowed):
            names = [t.__name__ for t in allowed] or ["(none supported)"]
            raise CoordinatesError(
                f"object {self._object.name!r} ({shape.value}): got "
                f"{type(coordinates).__name__}, expected {' or '.join(names)}"
            )
        if ranged:
            frame_numbers = [0]
        elif type(frames) is int and frames >= 0:
            frame_numbers = [frames]
        else:
            frame_numbers = frame_list(frames)
        if confidence is None:
            confidence = 1.0
        elif type(confidence) is not float or not _isfinite(confidence):
            confidence = check_confidence(confidence, f"object {self._hash!r}")
        placed = self._frames
        if not overwrite and placed:
            for frame in frame_numbers:
                if frame in placed:
                    raise LabelRowError(
                        f"object {self._hash!r}: frame {frame} already has coordinates"
                        " - pass overwrite=True to replace them"
                    )
        if self._parent is not None:
            self._parent._check_placement(self, coordinates, frame_numbers)
        if created_at is None or last_edited_at is None:
            now = _now()  # the SDK defaults both times to "now"
            created_at = now if created_at is None else created_at
            last_edited_at = now if last_edited_at is None else last_edited_at
        manual = True if manual_annotation is None else manual_annotation
        for frame in frame_numbers:
            placed[frame] = Annotation(
                frame,
                coordinates,
                confidence,
                manual,
                created_at,
                created_by,
                last_edited_at,
                last_edited_by,
                reviews,
                is_deleted,
            )

    def get_annotations(self) -> list[Annotation]:
        return [self._frames[f] for f in sorted(self._frames)]

    def get_annotation(self, frame: int = 0) -> Annotation:
        found = self._frames.get(frame)
        if found is None:
            raise LabelRowError(
                f"object {self._hash!r}: no annotation on frame {frame}"
                f" - it is on frames {sorted(self._frames)[:10]}"
            )
        return found

    def get_annotation_frames(self) -> list[int]:
        return sorted(self._frames)

    def remove_from_frames(self, frames: Frames) -> None:
        numbers = frame_list(frames)
        for frame in numbers:
            self._frames.pop(frame, None)
        if self._answers is not None:
            self._answers.remove_frames(numbers)

    def is_assigned_to_label_row(self) -> bool:
        return self._parent is not None

    # -- answers -----------------------------------------------------------------------------

    @property
    def answers(self) -> AnswerSet:
        if self._answers is None:
            self._answers = AnswerSet(self._object)
        return self._answers

    def set_answer(
        self,
        answer: Any,
        attribute: Attribute | None = None,
        frames: Frames | None = None,
        overwrite: bool = False,
        manual_annotation: bool = True,
    ) -> None:
        where = f"object {self._hash!r}"
        answers = self.answers
        attr = answers.resolve(attribute, answer, where)
        value = check_answer(attr, answer, where)
        if attr.dynamic:
            numbers = sorted(self._frames) if frames is None else frame_list(frames)
            if not numbers:
                raise AnswerError(
                    f"{where}: dynamic attribute {attr.name!r} needs frames - place the object"
                    " first or pass frames="
                )
            answers.set_dynamic(attr, value, numbers, manual_annotation, overwrite, where)
            return
        if frames is not None:
            raise AnswerError(
                f"{where}: {attr.name!r} is not dynamic, so its answer holds on every frame"
                " - drop frames="
            )
        answers.set_static(attr, value, manual_annotation, overwrite, where)

    def get_answer(
        self,
        attribute: Attribute,
        filter_answer: Any = None,
        filter_frame: int | None = None,
        is_dynamic: bool | None = None,
    ) -> AnswerValue | list[AnswerForFrames] | None:
        answers = self.answers
        attr = answers.resolve(attribute, None, f"object {self._hash!r}")
        dynamic = attr.dynamic if is_dynamic is None else is_dynamic
        if not dynamic:
            return answers.get_static(attr)
        found = answers.get_dynamic(attr)
        if filter_frame is not None:
            found = [a for a in found if any(r.start <= filter_frame <= r.end for r in a.ranges)]
        if filter_answer is not None:
            found = [a for a in found if a.answer == filter_answer]
        return found

    def delete_answer(self, attribute: Attribute) -> None:
        answers = self.answers
        answers.static.pop(attribute.feature_node_hash, None)
        answers.dynamic.pop(attribute.feature_node_hash, None)
