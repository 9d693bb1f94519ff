"""Ontology attributes: radio, checklist, text and numeric (Encord ontology JSON, ``attributes``).

``uid`` is the integer path parsed from the dotted ``id``; ``feature_node_hash`` is the identity
that labels refer to. ``dynamic`` attributes vary per frame and are stored in ``object_actions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from predscope.exceptions import OntologyError
from predscope.objects.ontology_element import OntologyElementLookup
from predscope.objects.options import (
    FlatOption,
    NestableOption,
    Option,
    option_from_dict,
    snake_value,
    uid_from_id,
    uid_to_id,
)


class Attribute(OntologyElementLookup):
    """Base of the four attribute kinds; ``type_name`` is the JSON ``type`` string."""

    type_name: ClassVar[str] = ""
    __slots__ = (
        "uid",
        "feature_node_hash",
        "name",
        "required",
        "archived",
        "dynamic",
        "options",
        "_omitted",
        "_extra",
    )

    def __init__(
        self,
        uid: list[int],
        feature_node_hash: str,
        name: str,
        required: bool = False,
        archived: bool = False,
        dynamic: bool = False,
        options: list[Any] | None = None,
    ) -> None:
        self.uid = uid
        self.feature_node_hash = feature_node_hash
        self.name = name
        self.required = required
        self.archived = archived
        self.dynamic = dynamic
        self.options: list[Any] = list(options or [])
        self._omitted: frozenset[str] = frozenset()
        self._extra: dict[str, Any] = {}

    @property
    def title(self) -> str:
        return self.name

    @property
    def value(self) -> str:
        """The ``value`` written next to answers: the name lower-cased with underscores."""
        return snake_value(self.name)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, feature_node_hash="
            f"{self.feature_node_hash!r}, uid={self.uid!r}, required={self.required}, "
            f"dynamic={self.dynamic}, options={len(self.options)})"
        )

    def child_elements(self) -> Iterable[Any]:
        return self.options

    def walk(self) -> Iterator[Attribute | Option]:
        """This attribute, its options, and everything nested below them, depth first."""
        yield self
        for option in self.options:
            yield option
            for nested in getattr(option, "nested_options", ()):
                yield from nested.walk()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": uid_to_id(self.uid),
            "name": self.name,
            "type": self.type_name,
            "featureNodeHash": self.feature_node_hash,
            "required": self.required,
        }
        for key, val in (("archived", self.archived), ("dynamic", self.dynamic)):
            if not (key in self._omitted and not val):
                out[key] = val
        if isinstance(self, (RadioAttribute, ChecklistAttribute)) and (
            self.options or "options" not in self._omitted
        ):
            out["options"] = [option.to_dict() for option in self.options]
        out.update(self._extra)
        return out


class RadioAttribute(Attribute):
    """Exactly one option; options may nest further attributes."""

    type_name = "radio"
    __slots__ = ()
    options: list[NestableOption]


class ChecklistAttribute(Attribute):
    """Any number of flat options."""

    type_name = "checklist"
    __slots__ = ()
    options: list[FlatOption]


class TextAttribute(Attribute):
    """A free-text answer."""

    type_name = "text"
    __slots__ = ()


class NumericAttribute(Attribute):
    """A number answer."""

    type_name = "numeric"
    __slots__ = ()


_KINDS: dict[str, type[Attribute]] = {
    cls.type_name: cls
    for cls in (RadioAttribute, ChecklistAttribute, TextAttribute, NumericAttribute)
}
_ATTRIBUTE_KEYS = frozenset(
    {"id", "name", "type", "featureNodeHash", "required", "archived", "dynamic", "options"}
)


def attribute_from_dict(d: dict[str, Any], where: str = "attribute") -> Attribute:
    """Parse one attribute (and its options, recursively) from ontology JSON."""
    if not isinstance(d, dict):
        raise OntologyError(f"{where}: expected an attribute object, got {type(d).__name__}")
    kind = _KINDS.get(str(d.get("type")))
    if kind is None:
        raise OntologyError(
            f"{where}: unknown attribute type {d.get('type')!r} - use one of {sorted(_KINDS)}"
        )
    for key in ("featureNodeHash", "name", "required"):
        if key not in d:
            raise OntologyError(f"{where}: attribute lacks {key!r} - add it to the ontology JSON")
    attr = kind(
        uid_from_id(d.get("id"), f"{where}.id"),
        str(d["featureNodeHash"]),
        str(d["name"]),
        bool(d["required"]),
        bool(d.get("archived", False)),
        bool(d.get("dynamic", False)),
    )
    if kind in (RadioAttribute, ChecklistAttribute):
        attr.options = [
            option_from_dict(
                sub, kind is RadioAttribute, attribute_from_dict, f"{where}.options[{i}]"
            )
            for i, sub in enumerate(d.get("options") or [])
        ]
    attr._omitted = frozenset(k for k in ("archived", "dynamic", "options") if k not in d)
    attr._extra = {k: v for k, v in d.items() if k not in _ATTRIBUTE_KEYS}
    return attr
