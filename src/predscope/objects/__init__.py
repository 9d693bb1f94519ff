"""The domain layer: ontology, coordinates, label rows. Pure Python, no I/O.

Module paths and names mirror ``encord.objects`` so users' imports port by renaming the package.
Names resolve lazily to keep ``import predscope.objects`` cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "Shape": "predscope.objects.common",
    "OntologyStructure": "predscope.objects.ontology_structure",
    "Object": "predscope.objects.ontology_object",
    "Classification": "predscope.objects.classification",
    "RadioAttribute": "predscope.objects.attributes",
    "ChecklistAttribute": "predscope.objects.attributes",
    "TextAttribute": "predscope.objects.attributes",
    "NumericAttribute": "predscope.objects.attributes",
    "Option": "predscope.objects.options",
    "NestableOption": "predscope.objects.options",
    "FlatOption": "predscope.objects.options",
    "SkeletonTemplate": "predscope.objects.skeleton_template",
    "ObjectInstance": "predscope.objects.ontology_object_instance",
    "ClassificationInstance": "predscope.objects.classification_instance",
    "LabelRowV2": "predscope.objects.label_row",
    "LabelRowMetadata": "predscope.objects.label_row_metadata",
    "Bundle": "predscope.objects.bundle",
    "Range": "predscope.objects.frames",
}

if TYPE_CHECKING:  # names for type checkers; at run time __getattr__ resolves them
    from predscope.objects.attributes import (
        ChecklistAttribute,
        NumericAttribute,
        RadioAttribute,
        TextAttribute,
    )
    from predscope.objects.bundle import Bundle
    from predscope.objects.classification import Classification
    from predscope.objects.classification_instance import ClassificationInstance
    from predscope.objects.common import Shape
    from predscope.objects.frames import Range
    from predscope.objects.label_row import LabelRowV2
    from predscope.objects.label_row_metadata import LabelRowMetadata
    from predscope.objects.ontology_object import Object
    from predscope.objects.ontology_object_instance import ObjectInstance
    from predscope.objects.ontology_structure import OntologyStructure
    from predscope.objects.options import FlatOption, NestableOption, Option
    from predscope.objects.skeleton_template import SkeletonTemplate

__all__ = [
    "Bundle",
    "ChecklistAttribute",
    "Classification",
    "ClassificationInstance",
    "FlatOption",
    "LabelRowMetadata",
    "LabelRowV2",
    "NestableOption",
    "NumericAttribute",
    "Object",
    "ObjectInstance",
    "OntologyStructure",
    "Option",
    "RadioAttribute",
    "Range",
    "Shape",
    "SkeletonTemplate",
    "TextAttribute",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'predscope.objects' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
