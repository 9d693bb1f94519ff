"""Ontology classifications: frame-level (or global) questions, titled by their first attribute."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from predscope.exceptions import OntologyError
from predscope.objects.attributes import Attribute, attribute_from_dict
from predscope.objects.ontology_element import OntologyElementLookup

if TYPE_CHECKING:
    from predscope.objects.classification_instance import ClassificationInstance


class Classification(OntologyElementLookup):
    """A classification has no name of its own; ``title`` is its first attribute's name."""

    __slots__ = ("uid", "feature_node_hash", "attributes", "level", "_tree", "_omitted", "_extra")

    def __init__(
        self,
        uid: int,
        feature_node_hash: str,
        attributes: list[Attribute] | None = None,
        level: str | None = None,
    ) -> None:
        self.uid = uid
        self.feature_node_hash = feature_node_hash
        self.attributes: list[Attribute] = list(attributes or [])
        self.level = level
        self._tree: Any = None  # answers.AttributeTree cache
        self._omitted: frozenset[str] = frozenset()
        self._extra: dict[str, Any] = {}

    def child_elements(self) -> Iterable[Any]:
        return self.attributes

    @property
    def title(self) -> str:
        return self.attributes[0].name if self.attributes else ""

    def __repr__(self) -> str:
        return (
            f"Classification(title={self.title!r}, feature_node_hash="
            f"{self.feature_node_hash!r}, uid={self.uid}, attributes={len(self.attributes)})"
        )

    def create_instance(self, range_only: bool = False) -> ClassificationInstance:
        from predscope.objects.classification_instance import ClassificationInstance

        return ClassificationInstance(self)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": str(self.uid), "featureNodeHash": self.feature_node_hash}
        if self.level is not None:
            out["level"] = self.level
        out["attributes"] = [attr.to_dict() for attr in self.attributes]
        out.update(self._extra)
        return out


_CLASSIFICATION_KEYS = frozenset({"id", "featureNodeHash", "attributes", "level"})


def classification_from_dict(d: dict[str, Any], where: str = "classifications") -> Classification:
    if not isinstance(d, dict) or "featureNodeHash" not in d:
        raise OntologyError(f"{where}: a classification needs a 'featureNodeHash'")
    try:
        uid = int(d.get("id", 0))
    except (TypeError, ValueError):
        raise OntologyError(f"{where}: id {d.get('id')!r} is not an integer") from None
    level = d.get("level")
    cls = Classification(
        uid,
        str(d["featureNodeHash"]),
        [
            attribute_from_dict(sub, f"{where}.attributes[{i}]")
            for i, sub in enumerate(d.get("attributes") or [])
        ],
        None if level is None else str(level),
    )
    cls._extra = {k: v for k, v in d.items() if k not in _CLASSIFICATION_KEYS}
    return cls
