"""Answer options of radio and checklist attributes (Encord ontology JSON, ``options``).

A radio option may carry nested attributes (stored under the JSON key ``options``, although they are
attributes); checklist options cannot. Unknown and omitted keys are remembered so that ``to_dict``
gives back exactly what ``from_dict`` read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from predscope.exceptions import OntologyError
from predscope.objects.ontology_element import OntologyElementLookup

if TYPE_CHECKING:
    from predscope.objects.attributes import Attribute


def uid_from_id(raw: Any, where: str = "id") -> list[int]:
    """Parse a dotted ontology id ("1.2.3") into its integer path.

    A missing or empty id gives an empty path (it writes back as ``""``); anything else that is
    not a dotted integer string is refused, because reading it as ``[]`` would lose it silently.
    """
    if raw is None or raw == "":
        return []
    parts = raw.split(".") if isinstance(raw, str) else None
    if parts is None or not all(p.isascii() and p.isdigit() for p in parts):
        raise OntologyError(
            f"{where}: {raw!r} is not a valid id - an attribute or option id is a dotted"
            ' integer string such as "1.2"; fix it in the ontology JSON'
        )
    return [int(p) for p in parts]


def uid_to_id(uid: list[int]) -> str:
    return ".".join(str(part) for part in uid)


def snake_value(text: str) -> str:
    """Encord's ``value``: lower-case, every space replaced by ``_`` (trailing ones included)."""
    return text.lower().replace(" ", "_")


class Option(OntologyElementLookup):
    """One answer choice. ``title`` is the label, as in the Encord SDK."""

    __slots__ = ("feature_node_hash", "uid", "label", "value", "archived", "_omitted", "_extra")

    def __init__(
        self,
        feature_node_hash: str,
        uid: list[int],
        label: str,
        value: str | None = None,
        archived: bool = False,
    ) -> None:
        self.feature_node_hash = feature_node_hash
        self.uid = uid
        self.label = label
        self.value = snake_value(label) if value is None else value
        self.archived = archived
        self._omitted: frozenset[str] = frozenset()
        self._extra: dict[str, Any] = {}

    @property
    def title(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(feature_node_hash={self.feature_node_hash!r}, "
            f"uid={self.uid!r}, label={self.label!r}, value={self.value!r})"
        )

    def _base_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": uid_to_id(self.uid),
            "label": self.label,
            "value": self.value,
            "featureNodeHash": self.feature_node_hash,
        }
        if not ("archived" in self._omitted and not self.archived):
            out["archived"] = self.archived
        out.update(self._extra)
        return out

    def to_dict(self) -> dict[str, Any]:
        return self._base_dict()


class FlatOption(Option):
    """A checklist option (or a radio option without nested attributes)."""

    __slots__ = ()


class NestableOption(Option):
    """A radio option; ``nested_options`` holds the attributes that apply when it is chosen."""

    __slots__ = ("nested_options",)

    def __init__(
        self,
        feature_node_hash: str,
        uid: list[int],
        label: str,
        value: str | None = None,
        archived: bool = False,
        nested_options: list[Attribute] | None = None,
    ) -> None:
        super().__init__(feature_node_hash, uid, label, value, archived)
        self.nested_options: list[Attribute] = list(nested_options or [])

    def child_elements(self) -> Iterable[Any]:
        return self.nested_options

    def to_dict(self) -> dict[str, Any]:
        out = self._base_dict()
        if self.nested_options or "options" not in self._omitted:
            out["options"] = [attr.to_dict() for attr in self.nested_options]
        return out


_OPTION_KEYS = frozenset({"id", "label", "value", "featureNodeHash", "archived", "options"})


def option_from_dict(d: dict[str, Any], nestable: bool, parse_attribute: Any, where: str) -> Option:
    """Build an option; ``parse_attribute`` parses nested attributes (passed in: no cycle)."""
    try:
        fnh = str(d["featureNodeHash"])
        label = str(d["label"])
    except (KeyError, TypeError) as exc:
        raise OntologyError(
            f"{where}: option lacks {exc} - every option needs 'label' and 'featureNodeHash'"
        ) from None
    uid = uid_from_id(d.get("id"), f"{where}.id")
    value = d.get("value")
    archived = bool(d.get("archived", False))
    option: Option
    if nestable:
        nested = [
            parse_attribute(sub, f"{where}.options[{i}]")
            for i, sub in enumerate(d.get("options") or [])
        ]
        option = NestableOption(fnh, uid, label, value, archived, nested)
    else:
        option = FlatOption(fnh, uid, label, value, archived)
    option._omitted = frozenset(k for k in ("archived", "options") if k not in d)
    option._extra = {k: v for k, v in d.items() if k not in _OPTION_KEYS}
    return option
