"""Ontology shape names, spelt exactly as Encord writes them in ontology JSON."""

from __future__ import annotations

from enum import StrEnum


class Shape(StrEnum):
    """Shape of an ontology object; the value is the string stored in ontology and label JSON."""

    BOUNDING_BOX = "bounding_box"
    ROTATABLE_BOUNDING_BOX = "rotatable_bounding_box"
    POLYGON = "polygon"
    POLYLINE = "polyline"
    POINT = "point"
    SKELETON = "skeleton"
    BITMASK = "bitmask"
    AUDIO = "audio"
    TEXT = "text"
    TIME_RANGE = "time_range"
    CUBOID = "cuboid"
    CUBOID_2D = "cuboid_2d"
    CIRCLE = "circle"
    ELLIPSE = "ellipse"
    SEGMENTATION = "segmentation"
