"""Readable JSON written as it goes, byte for byte what ``json.dumps(indent=2)`` prints.

``json.dumps`` with an indent runs its pure-Python encoder over one document held whole in memory;
a listing of 300,000 objects spent more time there (and in ``dataclasses.asdict``'s deep copies)
than reading the store. ``write_json_array`` writes a stream of items one at a time, and encodes
dataclasses field by field without copying, with the same text: the same separators and indent,
floats by ``repr`` (``NaN``/``Infinity`` as ``json`` writes them), strings unescaped beyond
JSON's rules (``ensure_ascii=False``), and ``json_default`` for dates, paths and sets.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

__all__ = [
    "Raw",
    "dumps_indented",
    "encode_indented",
    "json_default",
    "write_json_array",
]

_INDENT = "  "
_INF = float("inf")
_FIELDS: dict[tuple[type, int], tuple[tuple[str, str], ...]] = {}


def json_default(value: Any) -> Any:
    """JSON fallback for values the listing and records carry (dates, paths, sets)."""
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class Raw:
    """Text already encoded for the place it stands in (its nesting level included): the
    encoder writes it as it is. A caller with a faster encoder for some values passes them in
    as ``Raw`` and must give the same text the encoder would."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


def _fields(cls: type, level: int) -> tuple[tuple[str, str], ...]:
    """(attribute, text before its value) of a dataclass nested ``level`` deep, made once."""
    found = _FIELDS.get((cls, level))
    if found is None:
        inner = "\n" + _INDENT * (level + 1)
        found = _FIELDS[(cls, level)] = tuple(
            (f.name, ("{" if i == 0 else ",") + inner + encode_basestring(f.name) + ": ")
            for i, f in enumerate(dataclasses.fields(cls))
        )
    return found


def _encode(value: Any, level: int, out: list[str]) -> None:
    """Append the text of ``value`` nested ``level`` deep (as ``dumps(indent=2)`` would)."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is float:
        out.append(_float(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is Raw:
        out.append(value.text)
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = "\n" + _INDENT * (level + 1)
        out.append("[")
        first = True
        for item in value:
            out.append(inner if first else "," + inner)
            first = False
            _encode(item, level + 1, out)
        out.append("\n" + _INDENT * level + "]")
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        if not all(type(k) is str for k in value):
            out.append(_stdlib(value, level))
            return
        inner = "\n" + _INDENT * (level + 1)
        out.append("{")
        first = True
        for key, item in value.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(encode_basestring(key))
            out.append(": ")
            _encode(item, level + 1, out)
        out.append("\n" + _INDENT * level + "}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = _fields(kind, level)
        if not fields:
            out.append("{}")
            return
        for name, before in fields:
            out.append(before)
            item = getattr(value, name)
            item_kind = type(item)
            if item_kind is str:  # the common leaves inline: most fields are one of these
                out.append(encode_basestring(item))
            elif item_kind is int:
                out.append(int.__repr__(item))
            else:
                _encode(item, level + 1, out)
        out.append("\n" + _INDENT * level + "}")
    elif isinstance(value, str | int | float | list | dict):  # subclasses: as json treats them
        out.append(_stdlib(value, level))
    else:
        _encode(json_default(value), level, out)


def _stdlib(value: Any, level: int) -> str:
    """The rare value the fast encoder does not handle, through ``json`` itself, re-indented."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=json_default)
    return text.replace("\n", "\n" + _INDENT * level)


def encode_indented(value: Any, level: int) -> str:
    """``value`` as ``dumps_indented`` writes it when nested ``level`` deep in a document."""
    out: list[str] = []
    _encode(value, level, out)
    return "".join(out)


def dumps_indented(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False, default=json_default)``, dataclasses as
    their ``asdict``.

    >>> dumps_indented({"a": [1, 2.5]})
    '{\\n  "a": [\\n    1,\\n    2.5\\n  ]\\n}'
    """
    out: list[str] = []
    _encode(value, 0, out)
    return "".join(out)


def write_json_array(items: Iterable[Any], write: Callable[[str], object]) -> int:
    """Write ``items`` as one indented JSON array, one ``write`` per item; returns the count.

    The text equals ``dumps_indented(list(items))``; only the item being written is held.
    """
    count = 0
    for item in items:
        out = ["[\n  " if count == 0 else ",\n  "]
        _encode(item, 1, out)
        write("".join(out))
        count += 1
    write("\n]" if count else "[]")
    return count
