"""The verify listing as plain data: what ``predscope labels`` prints, as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AnnotationListing",
    "AttributeListing",
    "ClassificationFrameListing",
    "ClassificationListing",
    "ObjectListing",
    "RowListing",
]


@dataclass(frozen=True, slots=True)
class AnnotationListing:
    frame: int
    coordinates: dict[str, Any]
    coordinates_text: str
    confidence: float
    manual_annotation: bool


@dataclass(frozen=True, slots=True)
class AttributeListing:
    name: str
    feature_hash: str
    type: str
    dynamic: bool
    answer: Any
    answer_text: str
    attribute_text: str
    nested: list[AttributeListing] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ObjectListing:
    object_hash: str
    object_name: str
    feature_hash: str
    uid: int
    color: str
    shape: str
    instance_text: str
    annotations: list[AnnotationListing]
    attributes: list[AttributeListing]


@dataclass(frozen=True, slots=True)
class ClassificationListing:
    classification_hash: str
    classification_name: str
    feature_hash: str
    answer: Any
    answer_text: str
    answer_hash: str | None
    frames: list[int]
    annotations: list[ClassificationFrameListing] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClassificationFrameListing:
    """Where a classification is given, with the confidence and origin of that frame's answer."""

    frame: int
    confidence: float
    manual_annotation: bool


@dataclass(frozen=True, slots=True)
class RowListing:
    data_title: str
    data_hash: str
    data_type: str
    branch_name: str
    label_hash: str
    objects: list[ObjectListing]
    classifications: list[ClassificationListing]
