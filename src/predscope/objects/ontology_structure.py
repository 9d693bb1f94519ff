"""The whole ontology: objects, classifications and skeleton templates, with O(1) lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar, overload

from predscope.exceptions import OntologyError
from predscope.objects.attributes import Attribute
from predscope.objects.classification import Classification, classification_from_dict
from predscope.objects.ontology_element import (
    check_hash_match,
    check_title_match,
    filter_by_type,
)
from predscope.objects.ontology_object import Object, object_from_dict
from predscope.objects.options import Option
from predscope.objects.skeleton_template import SkeletonTemplate

OntologyElement = Object | Classification | Attribute | Option
T = TypeVar("T")


class OntologyStructure:
    """Mirrors ``encord.objects.OntologyStructure``.

    Hash and title indexes are built lazily on first lookup and rebuilt when the lists change
    length, so scripts that append objects keep working.
    """

    __slots__ = ("objects", "classifications", "skeleton_templates", "_omitted", "_extra", "_index")

    def __init__(
        self,
        objects: list[Object] | None = None,
        classifications: list[Classification] | None = None,
        skeleton_templates: list[SkeletonTemplate] | None = None,
    ) -> None:
        self.objects: list[Object] = list(objects or [])
        self.classifications: list[Classification] = list(classifications or [])
        self.skeleton_templates: list[SkeletonTemplate] = list(skeleton_templates or [])
        self._omitted: frozenset[str] = frozenset()
        self._extra: dict[str, Any] = {}
        self._index: (
            tuple[tuple[int, int], dict[str, OntologyElement], dict[str, list[OntologyElement]]]
            | None
        ) = None

    def __repr__(self) -> str:
        return (
            f"OntologyStructure(objects={len(self.objects)}, "
            f"classifications={len(self.classifications)}, "
            f"skeleton_templates={len(self.skeleton_templates)})"
        )

    # -- traversal and indexes -------------------------------------------------------------

    def iter_elements(self) -> Iterator[OntologyElement]:
        """Every object, classification, attribute and option, depth first."""
        for obj in self.objects:
            yield obj
            for attr in obj.attributes:
                yield from attr.walk()
        for cls in self.classifications:
            yield cls
            for attr in cls.attributes:
                yield from attr.walk()

    def _indexes(
        self,
    ) -> tuple[dict[str, OntologyElement], dict[str, list[OntologyElement]]]:
        key = (len(self.objects), len(self.classifications))
        if self._index is None or self._index[0] != key:
            by_hash: dict[str, OntologyElement] = {}
            by_title: dict[str, list[OntologyElement]] = {}
            for element in self.iter_elements():
                by_hash.setdefault(element.feature_node_hash, element)
                by_title.setdefault(element.title, []).append(element)
            self._index = (key, by_hash, by_title)
        return self._index[1], self._index[2]

    def invalidate_index(self) -> None:
        """Call after editing nested attributes or options in place."""
        self._index = None

    # -- lookups ---------------------------------------------------------------------------

    @overload
    def get_child_by_hash(self, feature_node_hash: str, type_: type[T]) -> T: ...
    @overload
    def get_child_by_hash(self, feature_node_hash: str, type_: None = None) -> Any: ...
    def get_child_by_hash(self, feature_node_hash: str, type_: type[Any] | None = None) -> Any:
        element = self._indexes()[0].get(feature_node_hash)
        return check_hash_match(element, feature_node_hash, type_, "ontology")

    def get_children_by_title(self, title: str, type_: type[Any] | None = None) -> list[Any]:
        return filter_by_type(self._indexes()[1].get(title, []), type_)

    @overload
    def get_child_by_title(self, title: str, type_: type[T]) -> T: ...
    @overload
    def get_child_by_title(self, title: str, type_: None = None) -> Any: ...
    def get_child_by_title(self, title: str, type_: type[Any] | None = None) -> Any:
        found = self.get_children_by_title(title, type_)
        return check_title_match(found, title, type_, "ontology")

    # -- JSON ------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OntologyStructure:
        if not isinstance(d, dict):
            raise OntologyError(f"ontology: expected a JSON object, got {type(d).__name__}")
        structure = cls(
            [object_from_dict(o, f"objects[{i}]") for i, o in enumerate(d.get("objects") or [])],
            [
                classification_from_dict(c, f"classifications[{i}]")
                for i, c in enumerate(d.get("classifications") or [])
            ],
            [
                SkeletonTemplate.from_dict(t, f"skeleton_templates[{i}]")
                for i, t in enumerate(d.get("skeleton_templates") or [])
            ],
        )
        structure._omitted = frozenset(
            k for k in ("objects", "classifications", "skeleton_templates") if k not in d
        )
        known = {"objects", "classifications", "skeleton_templates"}
        structure._extra = {k: v for k, v in d.items() if k not in known}
        return structure

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "objects": [obj.to_dict() for obj in self.objects],
            "classifications": [cls.to_dict() for cls in self.classifications],
        }
        if self.skeleton_templates or "skeleton_templates" not in self._omitted:
            out["skeleton_templates"] = [t.to_dict() for t in self.skeleton_templates]
        out.update(self._extra)
        return out
