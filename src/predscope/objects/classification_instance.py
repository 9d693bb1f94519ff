"""One answered classification placed on a set of frames (``[[0, 0]]`` for an image)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from predscope.exceptions import LabelRowError
from predscope.objects.answers import AnswerSet, AnswerValue, check_answer
from predscope.objects.attributes import Attribute
from predscope.objects.frames import Frames, Range, frames_to_ranges
from predscope.objects.label_row_metadata import now_string
from predscope.objects.ontology_object_instance import (
    Annotation,
    check_confidence,
    frame_list,
    new_hash,
)

if TYPE_CHECKING:
    from predscope.objects.classification import Classification
    from predscope.objects.label_row import LabelRowV2


class ClassificationInstance:
    """Answers are static (one per attribute); placement metadata is kept per frame."""

    __slots__ = ("_classification", "_hash", "_frames", "_answers", "_parent", "extra", "_spans")

    def __init__(
        self, classification: Classification, classification_hash: str | None = None
    ) -> None:
        self._classification = classification
        self._hash = classification_hash if classification_hash is not None else new_hash()
        self._frames: dict[int, Annotation] = {}
        # Audio/text rows: ranges in ms or characters, kept as ranges with one annotation at 0
        # (expanding a ten-minute audio range per millisecond would cost 600,000 objects).
        self._spans: list[Range] | None = None
        self._answers: AnswerSet | None = None
        self._parent: LabelRowV2 | None = None
        # Unknown keys of this instance's ``classification_answers`` entry (e.g. ``spaces``).
        self.extra: dict[str, Any] = {}

    @property
    def classification_hash(self) -> str:
        return self._hash

    @property
    def classification_name(self) -> str:
        return self._classification.title

    @property
    def feature_hash(self) -> str:
        return self._classification.feature_node_hash

    @property
    def ontology_item(self) -> Classification:
        return self._classification

    @property
    def range_list(self) -> list[Range]:
        if self._spans is not None:
            return list(self._spans)
        return frames_to_ranges(list(self._frames))

    def set_ranges(
        self,
        ranges: list[Range],
        *,
        confidence: float = 1.0,
        manual_annotation: bool = True,
        created_at: datetime | str | None = None,
        created_by: str | None = None,
    ) -> None:
        """Place on audio (ms) or text (character) ranges without expanding them per unit."""
        confidence = check_confidence(confidence, f"classification {self._hash!r}")
        spans = frames_to_ranges(ranges)
        now = now_string()
        self._frames = {
            0: Annotation(
                0, None, confidence, manual_annotation, created_at or now, created_by, now
            )
        }
        self._spans = spans

    def __repr__(self) -> str:
        return (
            f"ClassificationInstance(classification_hash={self._hash!r}, "
            f"classification_name={self.classification_name!r}, ranges={self.range_list[:5]})"
        )

    def set_for_frames(
        self,
        frames: Frames = 0,
        *,
        overwrite: bool = False,
        created_at: datetime | str | None = None,
        created_by: str | None = None,
        confidence: float = 1.0,
        manual_annotation: bool = True,
        last_edited_at: datetime | str | None = None,
        last_edited_by: str | None = None,
        reviews: Any = None,
    ) -> None:
        numbers = frame_list(frames)
        confidence = check_confidence(confidence, f"classification {self._hash!r}")
        if not overwrite:
            taken = [f for f in numbers if f in self._frames]
            if taken:
                raise LabelRowError(
                    f"classification {self._hash!r}: already on frames {taken[:5]}"
                    " - pass overwrite=True to replace"
                )
        if self._parent is not None:
            self._parent._check_classification_frames(self, numbers)
        self._spans = None
        if created_at is None or last_edited_at is None:
            now = now_string()  # the SDK defaults both times to "now"
            created_at = now if created_at is None else created_at
            last_edited_at = now if last_edited_at is None else last_edited_at
        for frame in numbers:
            self._frames[frame] = Annotation(
                frame,
                None,
                confidence,
                manual_annotation,
                created_at,
                created_by,
                last_edited_at,
                last_edited_by,
                reviews,
            )

    def get_annotations(self) -> list[Annotation]:
        return [self._frames[f] for f in sorted(self._frames)]

    def get_annotation(self, frame: int = 0) -> Annotation:
        found = self._frames.get(frame)
        if found is None:
            raise LabelRowError(f"classification {self._hash!r}: not on frame {frame}")
        return found

    def get_annotation_frames(self) -> list[int]:
        return sorted(self._frames)

    def remove_from_frames(self, frames: Frames) -> None:
        for frame in frame_list(frames):
            self._frames.pop(frame, None)

    def is_assigned_to_label_row(self) -> bool:
        return self._parent is not None

    @property
    def answers(self) -> AnswerSet:
        if self._answers is None:
            self._answers = AnswerSet(self._classification)
        return self._answers

    def set_answer(
        self,
        answer: Any,
        attribute: Attribute | None = None,
        overwrite: bool = False,
        manual_annotation: bool = True,
    ) -> None:
        where = f"classification {self._hash!r}"
        answers = self.answers
        if (
            attribute is None
            and self._classification.attributes
            and not (isinstance(answer, list) or hasattr(answer, "feature_node_hash"))
        ):
            attribute = self._classification.attributes[0]
        attr = answers.resolve(attribute, answer, where)
        value = check_answer(attr, answer, where)
        answers.set_static(attr, value, manual_annotation, overwrite, where)

    def get_answer(self, attribute: Attribute | None = None) -> AnswerValue | None:
        if attribute is None:
            if not self._classification.attributes:
                return None
            attribute = self._classification.attributes[0]
        answers = self.answers
        attr = answers.resolve(attribute, None, f"classification {self._hash!r}")
        return answers.get_static(attr)

    def delete_answer(self, attribute: Attribute | None = None) -> None:
        attributes = self._classification.attributes
        target = attribute if attribute is not None else (attributes[0] if attributes else None)
        if target is not None:
            self.answers.static.pop(target.feature_node_hash, None)
