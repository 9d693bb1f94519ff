"""Writing a set's object columns (``store.object_columns`` holds the layout and the readers).

A full run writes every block (``write_columns``), rewriting stored block rows where they stand;
an incremental one (``replace_objects``) reads the blocks of the units it re-matched, splices
the new objects in and writes back only the blocks whose bytes changed, in the run's
transaction, so readers see the previous columns until it commits.

Example:
    >>> token = replace_objects(conn, set_id, columns, unit_ids=[17])  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, LargeBinary, Update, bindparam, delete, select, update

from predscope.exceptions import StoreError
from predscope.store._util import chunks, rewritten
from predscope.store.object_columns import (
    DTYPES,
    KIND_STRIDE,
    NO_PARTNER,
    _block_ranges,
    _decoded,
    _encoded,
    _nothing,
    _part_ids,
    _stored_raw,
    _typed,
    _utf8,
    block_bounds,
    storage_order,
)
from predscope.store.schema import analysis_column_sets, analysis_columns

# A stored block as (dtype tag, count, bytes), or None where a write does not compare bytes.
Held = tuple[str, int, bytes] | None


def _insert_blocks(
    conn: Connection,
    set_id: int,
    token: str,
    name: str,
    array: NDArray[Any],
    blocks: list[tuple[int, int, int]],
    stored: dict[tuple[str, int], Held] | None = None,
) -> None:
    """One row per block (``_block_ranges``) of ``array``.

    A block already ``stored`` (its (name, part) is removed from the map) is rewritten in place
    (``_rewrite``) instead of inserted, or left as it is, old token and all, where the map
    holds its stored (dtype, count, bytes) and they are these: an incremental run changes a
    few columns of a few blocks, and every block it need not write spares the commit a copy.
    """
    rows, rewrites = [], []
    for start, end, part in blocks:
        data, tag = _encoded(name, array[start:end])
        if stored is not None and (name, part) in stored:
            held = stored.pop((name, part))
            if held is not None and held[0] == tag and held[1] == end - start and held[2] == data:
                continue
            rewrites.append(
                {
                    "b_set": set_id,
                    "b_name": name,
                    "b_part": part,
                    "b_data": bytes(data),
                    "count": end - start,
                    "token": token,
                    "dtype": tag,
                }
            )
        else:
            row = {"count": end - start, "token": token, "dtype": tag, "data": bytes(data)}
            rows.append({"set_id": set_id, "name": name, "part": part, **row})
    if rows:
        conn.execute(analysis_columns.insert(), rows)
    if rewrites:
        conn.execute(_rewrite(conn.dialect.name), rewrites)


def _delete_blocks(conn: Connection, set_id: int, keys: Iterable[tuple[str, int]]) -> None:
    """Delete the set's blocks ``keys`` ((name, part) pairs)."""
    c = analysis_columns.c
    by_name: dict[str, list[int]] = {}
    for name, part in sorted(keys):
        by_name.setdefault(name, []).append(part)
    for name, stale in by_name.items():
        for chunk in chunks(stale):
            conn.execute(
                delete(analysis_columns).where(
                    c.set_id == set_id, c.name == name, c.part.in_(chunk)
                )
            )


@functools.cache
def _rewrite(dialect: str) -> Update:
    """Rewrite a stored block's row where it stands (``_util.rewritten``): a full run over
    stored results whose blocks kept their bytes then writes little more than the tokens, where
    deleting the old rows and inserting new ones freed and wrote every page again (55 MB at
    5,000 images, copied once more by the checkpoint)."""
    c = analysis_columns.c
    data = rewritten(c.data, bindparam("b_data", type_=LargeBinary), dialect)
    return (
        update(analysis_columns)
        .where(c.set_id == bindparam("b_set"), c.name == bindparam("b_name"))
        .where(c.part == bindparam("b_part"))
        .values(
            count=bindparam("count"), token=bindparam("token"), dtype=bindparam("dtype"), data=data
        )
    )


def _require(names: Iterable[str]) -> None:
    """Every stored column is among ``names``."""
    missing = [name for name in DTYPES if name not in set(names)]
    if missing:
        raise StoreError(f"object columns: missing {', '.join(missing)}")


def _checked(name: str, values: Any, count: int, seen: set[str]) -> NDArray[Any]:
    array = _typed(name, values)
    if array.shape[0] != count or name in seen:
        raise StoreError(
            f"object columns: {name!r} has {array.shape[0]} rows for {count} objects"
            + (" (given twice)" if name in seen else "")
        )
    seen.add(name)
    return array


def write_columns(
    conn: Connection,
    set_id: int,
    count: int,
    columns: Iterable[tuple[str, Any]],
) -> str:
    """Replace the set's stored columns, inside the caller's transaction; returns the token.

    ``columns`` yields (name, values in storage order) once per name of ``DTYPES``, ``kind``
    and ``data_unit_id`` first (they place the blocks): a generator lets the caller build one
    column at a time, so a write holds one column's copy, not all. The set's stored blocks are
    rewritten where they stand (``_rewrite``), new ones inserted and the rest deleted: the
    same rows as deleting all and inserting anew, without freeing and rewriting every page.
    """
    c, s = analysis_columns.c, analysis_column_sets.c
    listing = conn.execute(select(c.name, c.part).where(c.set_id == set_id))
    stored: dict[tuple[str, int], Held] = {(str(name), int(part)): None for name, part in listing}
    token = uuid.uuid4().hex
    seen: set[str] = set()
    pending: dict[str, NDArray[Any]] = {}
    parts: list[tuple[int, int, int]] | None = None
    bounds = np.zeros(0, dtype=np.int64)
    for name, values in columns:
        array = _checked(name, values, count, seen)
        if parts is None:
            pending[name] = array
            if "kind" not in pending or "data_unit_id" not in pending:
                continue
            bounds = block_bounds(pending["data_unit_id"])
            parts = _block_ranges(_part_ids(pending["kind"], pending["data_unit_id"], bounds))
            for held, values_held in pending.items():
                _insert_blocks(conn, set_id, token, held, values_held, parts, stored)
            pending.clear()
            continue
        _insert_blocks(conn, set_id, token, name, array, parts, stored)
        del array
    _require(seen)
    _delete_blocks(conn, set_id, stored)
    values = {"token": token, "count": count, "bounds": bounds.astype("<i8").tobytes()}
    if not conn.execute(
        update(analysis_column_sets).where(s.set_id == set_id).values(values)
    ).rowcount:
        conn.execute(analysis_column_sets.insert().values(set_id=set_id, **values))
    return token


def _flat(values: Any) -> NDArray[Any]:
    """One column as a plain array: a ``Stacked`` pair joined, a ``Nullable``'s NULLs as
    ``NO_PARTNER`` (the only nullable integer columns are the partners)."""
    from predscope.store.analysis_objects import Nullable, Stacked

    if isinstance(values, Stacked):
        head, tail = values.head, values.tail
        if not isinstance(head, (np.ndarray, Nullable)):  # strings: one list, encoded once
            return _utf8([*head, *tail])
        return np.concatenate([_flat(head), _flat(tail)])
    if isinstance(values, Nullable):
        out: NDArray[Any] = np.where(values.mask, values.values, NO_PARTNER)
        return out
    if isinstance(values, np.ndarray):
        return values
    return np.asarray(list(values))


def replace_objects(
    conn: Connection,
    set_id: int,
    new: Mapping[str, Any],
    unit_ids: Iterable[int] | None = None,
) -> str:
    """Store the set's objects after a run, inside its transaction; returns the new token.

    A full run (``unit_ids`` None) stores ``new`` alone, in new blocks. An incremental one
    reads the blocks that hold ``unit_ids``, drops those units' stored objects, splices
    ``new`` in and rewrites those of the blocks whose bytes changed: the same rows in the same
    order as a full run's (the order is the data's own key), with the blocks as they were.
    ``new``'s columns may be numpy arrays, ``Stacked`` pairs or ``Nullable`` partners.
    """
    _require(new)
    if unit_ids is None:
        keys = {name: _typed(name, _flat(new[name])) for name in ("kind", "data_unit_id")}
        keys.update({name: _typed(name, _flat(new[name])) for name in ("frame", "seq")})
        order = storage_order(*keys.values())
        count = int(keys["kind"].shape[0])

        def ordered() -> Iterable[tuple[str, NDArray[Any]]]:
            for name in DTYPES:
                values = keys.pop(name) if name in keys else _typed(name, _flat(new[name]))
                yield name, values if order is None else values[order]

        return write_columns(conn, set_id, count, ordered())
    s = analysis_column_sets.c
    found = conn.execute(select(s.count, s.bounds).where(s.set_id == set_id)).first()
    if found is None:
        raise StoreError(f"analysis set {set_id}: no stored objects to update - re-run with --full")
    bounds = np.frombuffer(bytes(found[1]), dtype="<i8")
    changed = np.unique(np.fromiter(unit_ids, dtype=np.int64))
    blocks = np.unique(np.searchsorted(bounds, changed, side="right"))
    parts = [kind * KIND_STRIDE + int(b) for kind in (0, 1) for b in blocks.tolist()]
    raw: dict[tuple[str, int], Held] = dict(_stored_raw(conn, set_id, parts))
    stored: dict[str, dict[int, tuple[str, int, bytes]]] = {}
    for (name, part), held in raw.items():
        assert held is not None
        stored.setdefault(name, {})[part] = held

    def old(name: str) -> NDArray[Any]:
        held = stored.get(name, {})
        pieces = [_decoded(name, held[p][2], held[p][0], held[p][1]) for p in sorted(held)]
        return np.concatenate(pieces) if pieces else _nothing(name)

    old_units = old("data_unit_id")
    keep = ~np.isin(old_units, changed)
    removed = int(old_units.size - np.count_nonzero(keep))

    given = int(_flat(new["kind"]).shape[0])

    def joined(name: str) -> NDArray[Any]:
        kept = old(name)[keep]
        added = _checked(name, _flat(new[name]), given, set())
        return np.concatenate([kept, added]) if kept.size else added

    keys = {name: joined(name) for name in ("kind", "data_unit_id", "frame", "seq")}
    order = storage_order(*keys.values())
    if order is not None:
        keys = {name: values[order] for name, values in keys.items()}
    block_parts = _block_ranges(_part_ids(keys["kind"], keys["data_unit_id"], bounds))
    added = int(keys["kind"].shape[0]) - int(np.count_nonzero(keep))
    token = uuid.uuid4().hex
    for name in DTYPES:
        values = keys[name] if name in keys else joined(name)
        if name not in keys and order is not None:
            values = values[order]
        _insert_blocks(conn, set_id, token, name, values, block_parts, raw)
    _delete_blocks(conn, set_id, raw)  # blocks the spliced objects no longer fill
    conn.execute(
        update(analysis_column_sets)
        .where(s.set_id == set_id)
        .values(token=token, count=int(found[0]) - removed + added)
    )
    return token
