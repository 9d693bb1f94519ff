"""COCO per-annotation ``attributes`` onto the ontology object's attributes of the same name.

COCO leaves ``attributes`` free-form: an OCR model writes ``{"text": "M6"}``, CVAT writes
``{"occluded": false, "rotation": 0.0}`` on every box. A name the object has is answered in the
standard Encord form (text: the string; radio: the option whose title, else value, is given;
checklist: a list of those; numeric: the number), nested attributes included, and a value that
does not fit is an ``ImportFormatError`` naming the record and the attribute. A name the object
lacks is counted and reported, not an error: exporters add such keys to every annotation, and
refusing them would make whole tools' files unimportable for a key the user never modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from predscope.exceptions import ImportFormatError
from predscope.objects.attributes import (
    Attribute,
    ChecklistAttribute,
    NumericAttribute,
    RadioAttribute,
    TextAttribute,
)
from predscope.objects.ontology_object import Object
from predscope.objects.options import Option

__all__ = ["Answers", "attribute_index", "coco_answers"]

Answers = list[tuple[Attribute, Any]]  # (attribute, answer as ``set_answer`` takes it)


def attribute_index(obj: Object) -> dict[str, Attribute]:
    """The object's live attributes by name, nested ones too (an outer one wins a clash)."""
    out: dict[str, Attribute] = {}
    for top in obj.attributes:
        for element in top.walk():
            if isinstance(element, Attribute) and not element.archived:
                out.setdefault(element.name, element)
    return out


def _option(attr: Attribute, value: Any, source: str, where: str) -> Option:
    options: list[Option] = [o for o in attr.options if not o.archived]
    if isinstance(value, str):
        for key in ("label", "value"):
            found = [o for o in options if getattr(o, key) == value]
            if found:
                return found[0]
    titles = ", ".join(repr(o.label) for o in options) or "none"
    raise ImportFormatError(
        source,
        where,
        f"{value!r} is not an option of the {attr.type_name} attribute {attr.name!r}",
        f"use one of its option titles: {titles}",
    )


def _answer(attr: Attribute, value: Any, source: str, where: str) -> Any:
    if isinstance(attr, TextAttribute):
        if not isinstance(value, str):
            raise ImportFormatError(
                source, where, f"the text attribute {attr.name!r} takes a string, got {value!r}"
            )
        return value
    if isinstance(attr, RadioAttribute):
        return _option(attr, value, source, where)
    if isinstance(attr, ChecklistAttribute):
        items = value if isinstance(value, list) else [value]
        return [_option(attr, item, source, f"{where}[{k}]") for k, item in enumerate(items)]
    if isinstance(attr, NumericAttribute):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            raise ImportFormatError(
                source, where, f"the numeric attribute {attr.name!r} takes a number, got {value!r}"
            )
        return value
    raise ImportFormatError(source, where, f"attribute {attr.name!r} cannot be answered")


def coco_answers(
    index: Mapping[str, Attribute], values: Mapping[str, Any], source: str, where: str
) -> tuple[Answers, list[str]]:
    """Answers for one annotation's ``attributes``, and the names the object has no attribute for.

    ``None`` values are no answer. ``where`` locates the annotation's ``attributes`` field.

    >>> from predscope.objects.ontology_object import object_from_dict
    >>> obj = object_from_dict({"id": "1", "name": "text", "shape": "polygon",
    ...     "featureNodeHash": "t1", "attributes": [{"id": "1.1", "name": "text",
    ...     "type": "text", "featureNodeHash": "t2", "required": False}]})
    >>> answers, unknown = coco_answers(attribute_index(obj), {"text": "M6", "lang": "en"}, "f", "")
    >>> [(a.name, v) for a, v in answers], unknown
    ([('text', 'M6')], ['lang'])
    """
    answers: Answers = []
    unknown: list[str] = []
    for name, value in values.items():
        attr = index.get(name)
        if attr is None:
            unknown.append(name)
        elif value is not None:
            answers.append((attr, _answer(attr, value, source, f"{where}.{name}")))
    return answers, unknown
