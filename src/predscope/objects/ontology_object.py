"""Ontology objects: the things annotators draw (a class with a shape and attributes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from predscope.exceptions import OntologyError
from predscope.objects.attributes import Attribute, attribute_from_dict
from predscope.objects.common import Shape
from predscope.objects.ontology_element import OntologyElementLookup
from predscope.objects.options import snake_value

if TYPE_CHECKING:
    from predscope.objects.ontology_object_instance import ObjectInstance


# Filled on first use: the instance module imports this one, so no import at module load.
_INSTANCE_CLASS: list[Any] = []


class Object(OntologyElementLookup):
    """One ontology object; ``uid`` is the integer id, ``feature_node_hash`` its real identity."""

    __slots__ = (
        "uid",
        "feature_node_hash",
        "name",
        "color",
        "shape",
        "required",
        "archived",
        "attributes",
        "_value",
        "_tree",
        "_omitted",
        "_extra",
    )

    def __init__(
        self,
        uid: int,
        feature_node_hash: str,
        name: str,
        color: str,
        shape: Shape,
        required: bool = False,
        archived: bool = False,
        attributes: list[Attribute] | None = None,
    ) -> None:
        self.uid = uid
        self.feature_node_hash = feature_node_hash
        self.name = name
        self.color = color
        self.shape = shape
        self.required = required
        self.archived = archived
        self.attributes: list[Attribute] = list(attributes or [])
        self._value = (name, snake_value(name))
        self._tree: Any = None  # answers.AttributeTree cache
        self._omitted: frozenset[str] = frozenset()
        self._extra: dict[str, Any] = {}

    def child_elements(self) -> Iterable[Any]:
        return self.attributes

    @property
    def title(self) -> str:
        return self.name

    @property
    def value(self) -> str:
        """The ``value`` written on every label of this object (name, lower snake case)."""
        cached = self._value
        if cached[0] is not self.name:
            cached = self._value = (self.name, snake_value(self.name))
        return cached[1]

    def __repr__(self) -> str:
        return (
            f"Object(name={self.name!r}, feature_node_hash={self.feature_node_hash!r}, "
            f"uid={self.uid}, shape={self.shape.value!r}, color={self.color!r}, "
            f"attributes={len(self.attributes)})"
        )

    def create_instance(self, *, object_number: int | None = None) -> ObjectInstance:
        """A new, unplaced instance of this object with a fresh object hash."""
        cls = _INSTANCE_CLASS
        if not cls:
            from predscope.objects.ontology_object_instance import ObjectInstance

            cls.append(ObjectInstance)
        return cls[0](self)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.uid),
            "name": self.name,
            "color": self.color,
            "shape": self.shape.value,
            "featureNodeHash": self.feature_node_hash,
        }
        for key, val in (("required", self.required), ("archived", self.archived)):
            if not (key in self._omitted and not val):
                out[key] = val
        if self.attributes or "attributes" not in self._omitted:
            out["attributes"] = [attr.to_dict() for attr in self.attributes]
        out.update(self._extra)
        return out


_OBJECT_KEYS = frozenset(
    {"id", "name", "color", "shape", "featureNodeHash", "required", "archived", "attributes"}
)


def object_from_dict(d: dict[str, Any], where: str = "objects") -> Object:
    if not isinstance(d, dict):
        raise OntologyError(f"{where}: expected an object, got {type(d).__name__}")
    for key in ("featureNodeHash", "name", "shape"):
        if key not in d:
            raise OntologyError(f"{where}: object lacks {key!r} - add it to the ontology JSON")
    try:
        shape = Shape(d["shape"])
    except ValueError:
        raise OntologyError(
            f"{where}: unknown shape {d['shape']!r} - use one of {[s.value for s in Shape]}"
        ) from None
    try:
        uid = int(d.get("id", 0))
    except (TypeError, ValueError):
        raise OntologyError(f"{where}: id {d.get('id')!r} is not an integer") from None
    obj = Object(
        uid,
        str(d["featureNodeHash"]),
        str(d["name"]),
        str(d.get("color", "")),
        shape,
        bool(d.get("required", False)),
        bool(d.get("archived", False)),
        [
            attribute_from_dict(sub, f"{where}.attributes[{i}]")
            for i, sub in enumerate(d.get("attributes") or [])
        ],
    )
    obj._omitted = frozenset(k for k in ("required", "archived", "attributes") if k not in d)
    obj._extra = {k: v for k, v in d.items() if k not in _OBJECT_KEYS}
    return obj
