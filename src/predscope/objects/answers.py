"""Attribute answers of one object or classification instance, and their Encord JSON form.

Static answers are one value per attribute; dynamic answers (objects only) are one value per frame.
Values are typed by attribute: radio -> the chosen ``Option``, checklist -> ``list[Option]``,
text -> ``str``, numeric -> ``float``. Encoded answer lists follow the SDK's order (reverse
depth-first traversal of the ontology), so a row read from Encord is written back identically.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from predscope.exceptions import AnswerError, LabelRowError
from predscope.objects.attributes import (
    Attribute,
    ChecklistAttribute,
    NumericAttribute,
    RadioAttribute,
    TextAttribute,
)
from predscope.objects.frames import Range, frames_to_ranges, ranges_from_json, ranges_to_json
from predscope.objects.options import Option

AnswerValue = Option | list[Option] | str | float

_ANSWER_KEYS = frozenset({"name", "value", "answers", "featureHash", "manualAnnotation"})
_ACTION_KEYS = _ANSWER_KEYS | {"dynamic", "range", "shouldPropagate"}


@dataclass(frozen=True, slots=True)
class AnswerForFrames:
    """One dynamic answer and the frame ranges where it holds."""

    answer: AnswerValue
    ranges: list[Range] = field(default_factory=list)


class AttributeTree:
    """Every attribute under one ontology item, in traversal order, with its parent option."""

    __slots__ = ("order", "parents", "owner_of_option")

    def __init__(self, attributes: list[Attribute]) -> None:
        self.order: list[Attribute] = []
        self.parents: dict[str, tuple[RadioAttribute, Option] | None] = {}
        self.owner_of_option: dict[str, Attribute] = {}
        self._walk(attributes, None)

    def _walk(
        self, attributes: list[Attribute], parent: tuple[RadioAttribute, Option] | None
    ) -> None:
        for attr in attributes:
            self.order.append(attr)
            self.parents.setdefault(attr.feature_node_hash, parent)
            for option in attr.options:
                self.owner_of_option.setdefault(option.feature_node_hash, attr)
                nested = getattr(option, "nested_options", None)
                if nested and isinstance(attr, RadioAttribute):
                    self._walk(nested, (attr, option))

    def find(self, feature_hash: str) -> Attribute | None:
        if feature_hash not in self.parents:
            return None
        for attr in self.order:
            if attr.feature_node_hash == feature_hash:
                return attr
        return None


def attribute_tree(item: Any) -> AttributeTree:
    """The tree of an ``Object`` or ``Classification``, cached on the item itself.

    Rebuilt when the item's top-level attribute list changes length.
    """
    attributes: list[Attribute] = item.attributes
    cached = item._tree
    if cached is not None and cached[0] == len(attributes):
        return cached[1]  # type: ignore[no-any-return]
    tree = AttributeTree(attributes)
    item._tree = (len(attributes), tree)
    return tree


def check_answer(attr: Attribute, answer: Any, where: str) -> AnswerValue:
    """Return the stored form of ``answer`` for ``attr``, or raise ``AnswerError``."""
    if isinstance(attr, RadioAttribute):
        if not isinstance(answer, Option) or all(answer is not o for o in attr.options):
            if isinstance(answer, Option) and any(
                o.feature_node_hash == answer.feature_node_hash for o in attr.options
            ):
                return next(
                    o for o in attr.options if o.feature_node_hash == answer.feature_node_hash
                )
            raise AnswerError(
                f"{where}: radio attribute {attr.name!r} takes one of its options, got {answer!r}"
                " - pass an element of attribute.options"
            )
        return answer
    if isinstance(attr, ChecklistAttribute):
        items = [answer] if isinstance(answer, Option) else answer
        if not isinstance(items, (list, tuple)):
            raise AnswerError(
                f"{where}: checklist attribute {attr.name!r} takes a list of options,"
                f" got {answer!r}"
            )
        by_hash = {o.feature_node_hash: o for o in attr.options}
        out: list[Option] = []
        for item in items:
            if not isinstance(item, Option) or item.feature_node_hash not in by_hash:
                raise AnswerError(
                    f"{where}: {item!r} is not an option of checklist attribute {attr.name!r}"
                )
            out.append(by_hash[item.feature_node_hash])
        return out
    if isinstance(attr, TextAttribute):
        if not isinstance(answer, str):
            raise AnswerError(f"{where}: text attribute {attr.name!r} takes a str, got {answer!r}")
        return answer
    if isinstance(attr, NumericAttribute):
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            raise AnswerError(
                f"{where}: numeric attribute {attr.name!r} takes a number, got {answer!r}"
            )
        if not math.isfinite(answer):
            raise AnswerError(f"{where}: numeric attribute {attr.name!r} got {answer!r}")
        return float(answer)
    raise AnswerError(f"{where}: unsupported attribute kind {type(attr).__name__}")


def infer_attribute(tree: AttributeTree, answer: Any, where: str) -> Attribute:
    """The attribute an answer belongs to when the caller did not say (options only, or unique)."""
    first = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(first, Option):
        owner = tree.owner_of_option.get(first.feature_node_hash)
        if owner is not None:
            return owner
    kind: tuple[type[Attribute], ...]
    if isinstance(answer, str):
        kind = (TextAttribute,)
    elif isinstance(answer, (int, float)) and not isinstance(answer, bool):
        kind = (NumericAttribute,)
    else:
        kind = ()
    fits = [a for a in tree.order if kind and isinstance(a, kind)]
    if len(fits) == 1:
        return fits[0]
    raise AnswerError(f"{where}: cannot tell which attribute {answer!r} answers - pass attribute=")


def encode_value(attr: Attribute, value: AnswerValue) -> Any:
    if isinstance(value, Option):
        return [{"name": value.label, "value": value.value, "featureHash": value.feature_node_hash}]
    if isinstance(value, list):
        return [
            {"name": o.label, "value": o.value, "featureHash": o.feature_node_hash} for o in value
        ]
    return value


def decode_value(attr: Attribute, raw: Any, where: str) -> AnswerValue:
    """Parse the ``answers`` field of one answer dict."""
    if isinstance(attr, (RadioAttribute, ChecklistAttribute)):
        if not isinstance(raw, list):
            raise AnswerError(f"{where}: 'answers' of {attr.name!r} must be a list")
        by_hash = {o.feature_node_hash: o for o in attr.options}
        chosen: list[Option] = []
        for item in raw:
            fh = item.get("featureHash") if isinstance(item, dict) else None
            if fh not in by_hash:
                raise AnswerError(f"{where}: unknown option {item!r} for attribute {attr.name!r}")
            chosen.append(by_hash[fh])
        if isinstance(attr, RadioAttribute):
            if len(chosen) != 1:
                raise AnswerError(f"{where}: radio {attr.name!r} needs exactly one answer")
            return chosen[0]
        return chosen
    if isinstance(attr, NumericAttribute):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise AnswerError(f"{where}: numeric {attr.name!r} answer {raw!r} is not a number")
        return raw  # kept as read, so an integer stays an integer on the way out
    if not isinstance(raw, str):
        raise AnswerError(f"{where}: text {attr.name!r} answer {raw!r} is not a string")
    return raw


def answer_dict(attr: Attribute, value: AnswerValue, manual: bool) -> dict[str, Any]:
    return {
        "name": attr.name,
        "value": attr.value,
        "answers": encode_value(attr, value),
        "featureHash": attr.feature_node_hash,
        "manualAnnotation": manual,
    }


class AnswerSet:
    """Answers of one instance. ``raw`` keeps entries whose attribute the ontology lacks."""

    __slots__ = ("tree", "static", "dynamic", "extra", "raw", "raw_actions")

    def __init__(self, item: Any) -> None:
        self.tree = attribute_tree(item)
        self.static: dict[str, tuple[AnswerValue, bool]] = {}
        self.dynamic: dict[str, dict[int, tuple[AnswerValue, bool]]] = {}
        self.extra: dict[str, dict[str, Any]] = {}
        self.raw: list[dict[str, Any]] = []
        self.raw_actions: list[Any] = []

    def resolve(self, attribute: Attribute | None, answer: Any, where: str) -> Attribute:
        if attribute is None:
            return infer_attribute(self.tree, answer, where)
        if attribute.feature_node_hash not in self.tree.parents:
            raise AnswerError(
                f"{where}: attribute {attribute.name!r} does not belong to this ontology item"
            )
        return attribute

    def check_parent(self, attr: Attribute, where: str) -> None:
        parent = self.tree.parents.get(attr.feature_node_hash)
        if parent is None:
            return
        radio, option = parent
        current = self.static.get(radio.feature_node_hash)
        if current is None or current[0] is not option:
            raise AnswerError(
                f"{where}: {attr.name!r} is nested under option {option.label!r} of "
                f"{radio.name!r}; answer {radio.name!r} with that option first"
            )

    def set_static(
        self, attr: Attribute, value: AnswerValue, manual: bool, overwrite: bool, where: str
    ) -> None:
        key = attr.feature_node_hash
        if key in self.static and not overwrite:
            raise LabelRowError(
                f"{where}: {attr.name!r} already has an answer - pass overwrite=True to replace it"
            )
        self.check_parent(attr, where)
        old = self.static.get(key)
        self.static[key] = (value, manual)
        if isinstance(attr, RadioAttribute) and old is not None and old[0] is not value:
            self._drop_nested(old[0])

    def _drop_nested(self, option: Any) -> None:
        for nested in getattr(option, "nested_options", ()):
            old = self.static.pop(nested.feature_node_hash, None)
            self.extra.pop(nested.feature_node_hash, None)
            if old is not None and isinstance(nested, RadioAttribute):
                self._drop_nested(old[0])

    def get_static(self, attr: Attribute) -> AnswerValue | None:
        found = self.static.get(attr.feature_node_hash)
        return None if found is None else found[0]

    def set_dynamic(
        self,
        attr: Attribute,
        value: AnswerValue,
        frames: list[int],
        manual: bool,
        overwrite: bool,
        where: str,
    ) -> None:
        per_frame = self.dynamic.setdefault(attr.feature_node_hash, {})
        if not overwrite:
            taken = [f for f in frames if f in per_frame]
            if taken:
                raise LabelRowError(
                    f"{where}: {attr.name!r} already answered on frames {taken[:5]}"
                    " - pass overwrite=True to replace"
                )
        for frame in frames:
            per_frame[frame] = (value, manual)

    def get_dynamic(self, attr: Attribute) -> list[AnswerForFrames]:
        groups: dict[int, tuple[AnswerValue, list[int]]] = {}
        for frame, (value, _manual) in sorted(self.dynamic.get(attr.feature_node_hash, {}).items()):
            groups.setdefault(_identity(value), (value, []))[1].append(frame)
        return [AnswerForFrames(v, frames_to_ranges(fs)) for v, fs in groups.values()]

    def remove_frames(self, frames: list[int]) -> None:
        for per_frame in self.dynamic.values():
            for frame in frames:
                per_frame.pop(frame, None)

    # -- Encord JSON ------------------------------------------------------------------------

    def _ordered(self) -> Iterator[Attribute]:
        return reversed(self.tree.order)

    def encode_static(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for attr in self._ordered():
            found = self.static.get(attr.feature_node_hash)
            if found is None:
                continue
            entry = answer_dict(attr, found[0], found[1])
            extra = self.extra.get(attr.feature_node_hash)
            if extra:
                entry.update(extra)
            out.append(entry)
        out.extend(self.raw)
        return out

    def encode_dynamic(self) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        for attr in self._ordered():
            per_frame = self.dynamic.get(attr.feature_node_hash)
            if not per_frame:
                continue
            groups: dict[tuple[int, bool], tuple[AnswerValue, bool, list[int]]] = {}
            for frame, (value, manual) in sorted(per_frame.items()):
                groups.setdefault((_identity(value), manual), (value, manual, []))[2].append(frame)
            for value, manual, frames in groups.values():
                action = answer_dict(attr, value, manual)
                action["dynamic"] = True
                action["range"] = ranges_to_json(frames_to_ranges(frames))
                action["shouldPropagate"] = False
                actions.append(action)
        actions.extend(self.raw_actions)
        return actions

    def decode_static(self, entries: Any, where: str) -> None:
        for i, entry in enumerate(entries or []):
            here = f"{where}[{i}]"
            attr = (
                self.tree.find(str(entry.get("featureHash"))) if isinstance(entry, dict) else None
            )
            if attr is None:
                self.raw.append(entry)
                continue
            value = decode_value(attr, entry.get("answers"), here)
            self.static[attr.feature_node_hash] = (value, bool(entry.get("manualAnnotation", True)))
            extra = {k: v for k, v in entry.items() if k not in _ANSWER_KEYS}
            if extra:
                self.extra[attr.feature_node_hash] = extra

    def decode_dynamic(self, actions: Any, where: str) -> None:
        for i, action in enumerate(actions or []):
            here = f"{where}[{i}]"
            attr = (
                self.tree.find(str(action.get("featureHash"))) if isinstance(action, dict) else None
            )
            if attr is None:
                self.raw_actions.append(action)
                continue
            value = decode_value(attr, action.get("answers"), here)
            manual = bool(action.get("manualAnnotation", True))
            per_frame = self.dynamic.setdefault(attr.feature_node_hash, {})
            for r in ranges_from_json(action.get("range", []), f"{here}.range"):
                for frame in range(r.start, r.end + 1):
                    per_frame[frame] = (value, manual)


def _identity(value: AnswerValue) -> int:
    """Group key for equal answers (options by identity, lists by their members)."""
    if isinstance(value, list):
        return hash(tuple(id(o) for o in value))
    if isinstance(value, Option):
        return id(value)
    return hash(value)
