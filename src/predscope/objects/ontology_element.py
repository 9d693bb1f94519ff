"""Subtree lookups shared by the ontology and its elements (as ``encord.objects.ontology_element``).

Encord lets a script ask an object, a classification, an attribute or an option for a descendant by
title or feature node hash, with the same rules as the whole ontology: no match or more than one
match is an ``OntologyError``. ``OntologyStructure`` indexes its tree; elements search theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar, overload

from predscope.exceptions import OntologyError

T = TypeVar("T")


def filter_by_type(found: Iterable[Any], type_: type[Any] | None) -> list[Any]:
    return [e for e in found if type_ is None or isinstance(e, type_)]


def check_hash_match(
    element: Any, feature_node_hash: str, type_: type[Any] | None, scope: str
) -> Any:
    """The one element found by hash, or the error that says why it is not usable."""
    if element is None:
        raise OntologyError(
            f"{scope}: no item has feature node hash {feature_node_hash!r}"
            " - check the hash against ontology_structure.to_dict()"
        )
    if type_ is not None and not isinstance(element, type_):
        raise OntologyError(
            f"{scope}: item {feature_node_hash!r} is a {type(element).__name__}, "
            f"not a {type_.__name__} - pass the matching type_ or another hash"
        )
    return element


def check_title_match(found: list[Any], title: str, type_: type[Any] | None, scope: str) -> Any:
    """Exactly one element by title, else an error naming the candidates."""
    kind = type_.__name__ if type_ is not None else "item"
    if not found:
        raise OntologyError(
            f"{scope}: no {kind} titled {title!r} - titles are case- and space-sensitive"
        )
    if len(found) > 1:
        kinds = ", ".join(type(e).__name__ for e in found)
        raise OntologyError(
            f"{scope}: more than one item titled {title!r} ({kinds})"
            " - pass type_=Object / Classification / ... or look up by feature node hash"
        )
    return found[0]


class OntologyElementLookup:
    """Mixin: ``get_child_by_*`` over an element's descendants (the element itself excluded).

    Subclasses say what their direct children are; the search is a plain walk, which is fine for
    per-element subtrees (the whole ontology uses its own index).
    """

    __slots__ = ()

    def child_elements(self) -> Iterable[Any]:
        """Direct children: attributes of objects and classifications, options of attributes,
        nested attributes of radio options."""
        return ()

    def iter_descendants(self) -> Iterator[Any]:
        for child in self.child_elements():
            yield child
            yield from child.iter_descendants()

    def _lookup_scope(self) -> str:
        return f"{type(self).__name__} {getattr(self, 'title', '')!r}"

    @overload
    def get_child_by_hash(self, feature_node_hash: str, type_: type[T]) -> T: ...
    @overload
    def get_child_by_hash(self, feature_node_hash: str, type_: None = None) -> Any: ...
    def get_child_by_hash(self, feature_node_hash: str, type_: type[Any] | None = None) -> Any:
        found = next(
            (e for e in self.iter_descendants() if e.feature_node_hash == feature_node_hash), None
        )
        return check_hash_match(found, feature_node_hash, type_, self._lookup_scope())

    def get_children_by_title(self, title: str, type_: type[Any] | None = None) -> list[Any]:
        return filter_by_type((e for e in self.iter_descendants() if e.title == title), type_)

    @overload
    def get_child_by_title(self, title: str, type_: type[T]) -> T: ...
    @overload
    def get_child_by_title(self, title: str, type_: None = None) -> Any: ...
    def get_child_by_title(self, title: str, type_: type[Any] | None = None) -> Any:
        found = self.get_children_by_title(title, type_)
        return check_title_match(found, title, type_, self._lookup_scope())
