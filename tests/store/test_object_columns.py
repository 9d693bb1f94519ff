"""Stored object columns: every column comes back as written (SQLite and PostgreSQL), in blocks
of whole data units; an incremental replace equals a full write of the same objects; readers
that reuse unchanged blocks see what a cold read sees, and never a rolled-back write."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import select

from predscope.exceptions import StoreError
from predscope.store import object_columns as oc
from predscope.store.analysis import get_or_create_set
from predscope.store.analysis_objects import Nullable, Stacked
from predscope.store.column_writes import replace_objects, write_columns
from predscope.store.engine import Store
from predscope.store.object_columns import (
    DTYPES,
    KIND_STRIDE,
    NO_PARTNER,
    SPARSE,
    object_rows,
    open_columns,
)
from predscope.store.projects import create_project
from predscope.store.schema import analysis_column_sets, analysis_columns, projects

Objects = dict[str, NDArray[Any]]


def _objects(units: dict[int, tuple[int, int]], seed: int) -> Objects:
    """Objects in storage order: ``units`` maps a data unit id to its (predictions, ground
    truth) counts; object j of a unit is on frame j % 2 with seq j // 2 (dense per frame).
    Partners, IoUs and aspect ratios are empty for some objects; one hash is not ASCII."""
    rng = np.random.default_rng(seed)
    keys = [
        (kind, unit, j % 2, j // 2)
        for kind in (0, 1)
        for unit in sorted(units)
        for j in range(units[unit][kind])
    ]
    keys.sort()
    n = len(keys)
    arr = np.array(keys, dtype=np.int64).reshape(-1, 4)
    out: dict[str, Any] = {
        "kind": arr[:, 0],
        "data_unit_id": arr[:, 1],
        "frame": arr[:, 2],
        "seq": arr[:, 3],
        "object_hash": np.array(
            [f"h{seed}-{k}-{u}-{f}-{s}" + ("é" if (u + s) % 7 == 3 else "") for k, u, f, s in keys],
            dtype=object,
        ),
    }
    for name, spec in DTYPES.items():
        if name in out:
            continue
        if name in SPARSE and name[0] == "p":
            values = rng.integers(0, 1000, n)
            values[rng.random(n) < 0.6] = NO_PARTNER
        elif spec.startswith("<f"):
            values = rng.normal(0, 100, n)
            if name in SPARSE or name in ("aspect_ratio", "best_iou_any"):
                values[rng.random(n) < 0.6] = np.nan
        else:
            values = rng.integers(0, 3 if name[0] == "o" else 120, n)
        out[name] = values
    return {name: oc._typed(name, out[name]) for name in DTYPES}


def _rows(data: Objects, keep: NDArray[np.bool_]) -> Objects:
    return {name: values[keep] for name, values in data.items()}


def _spliced(old: Objects, new: Objects, units: list[int]) -> Objects:
    """``old`` with the objects of ``units`` replaced by ``new``'s, in storage order."""
    kept = _rows(old, ~np.isin(old["data_unit_id"], units))
    joined = {n: np.concatenate([kept[n], new[n]]) for n in DTYPES}
    order = np.lexsort(tuple(joined[n] for n in ("seq", "frame", "data_unit_id", "kind")))
    return {n: v[order] for n, v in joined.items()}


def _set(store: Store, branch: str = "model") -> int:
    with store.begin() as conn:
        pid = conn.execute(select(projects.c.id).where(projects.c.title == "p")).scalar()
        if pid is None:
            pid = create_project(conn, "p", {"objects": []}).id
        return get_or_create_set(conn, pid, branch, "main").id


def _columns(store: Store, set_id: int) -> Objects:
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None
        return {name: np.array(cols[name]) for name in DTYPES}


def _assert_same(got: Objects, want: Objects) -> None:
    """Every column's dtype and bytes equal (hashes by value: their width is a block's)."""
    for name in DTYPES:
        if DTYPES[name] == "S":
            assert got[name].tolist() == want[name].tolist(), name
        else:
            assert got[name].dtype == want[name].dtype, name
            assert got[name].tobytes() == want[name].tobytes(), name


def _blocks(store: Store, set_id: int) -> dict[int, tuple[str, list[int]]]:
    """Each block's (token, data unit ids), by part."""
    c = analysis_columns.c
    with store.read() as conn:
        found = conn.execute(
            select(c.part, c.token, c.dtype, c.count, c.data).where(
                c.set_id == set_id, c.name == "data_unit_id"
            )
        ).all()
    return {
        int(p): (str(t), oc._decoded("data_unit_id", bytes(d), str(tag), int(n)).tolist())
        for p, t, tag, n, d in found
    }


def _cold() -> None:
    oc._CACHE.entries.clear()
    oc._LATEST.clear()


UNITS = {u: (3 + u % 4, 2 + u % 3) for u in range(10, 60, 2)}  # 25 units, about 300 objects


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oc, "BLOCK_ROWS", 40)


def test_every_column_round_trips(store: Store) -> None:
    set_id = _set(store)
    data = _objects(UNITS, 1)
    shuffled = np.random.default_rng(0).permutation(data["kind"].size)
    with store.begin() as conn:
        replace_objects(conn, set_id, {n: v[shuffled] for n, v in data.items()})
    _cold()
    got = _columns(store, set_id)
    _assert_same(got, data)
    assert got["object_hash"].dtype == data["object_hash"].dtype  # one block: the same width
    assert any("é" in r["object_hash"] for r in _rows_of(store, set_id))
    with store.read() as conn:
        rows = object_rows(conn, set_id)
        assert [r["id"] for r in rows] == list(range(data["kind"].size))
        assert rows[5]["p0"] in (None, int(data["p0"][5]))
        assert (rows[5]["p0"] is None) == (data["p0"][5] == NO_PARTNER)
        assert (rows[5]["i0"] is None) == bool(np.isnan(data["i0"][5]))
        picked = object_rows(conn, set_id, np.array([7, 2]))
        assert [r["id"] for r in picked] == [7, 2] and picked[1] == rows[2]
        cols = open_columns(conn, set_id)
        assert cols is not None
        with pytest.raises(ValueError):
            cols["x"][0] = 1.0  # read-only: a cached column is shared


def _rows_of(store: Store, set_id: int) -> list[dict[str, Any]]:
    with store.read() as conn:
        return object_rows(conn, set_id)


def test_stacked_and_nullable_columns_store_as_their_joined_values(store: Store) -> None:
    set_id = _set(store)
    data = _objects(UNITS, 2)
    preds = int(np.count_nonzero(data["kind"] == 0))
    given: dict[str, Any] = {}
    for name, values in data.items():
        if name == "object_hash":
            text = [v.decode("utf-8") for v in values.tolist()]
            given[name] = Stacked(tuple(text[:preds]), tuple(text[preds:]))
        elif name in SPARSE and name[0] == "p":
            hit = values != NO_PARTNER
            given[name] = Stacked(
                Nullable(np.where(hit, values, 7)[:preds], hit[:preds]),
                Nullable(np.where(hit, values, 7)[preds:], hit[preds:]),
            )
        else:
            given[name] = Stacked(values[:preds], values[preds:])
    with store.begin() as conn:
        replace_objects(conn, set_id, given)
    _assert_same(_columns(store, set_id), data)


def test_blocks_hold_whole_units_of_one_kind(store: Store, small_blocks: None) -> None:
    set_id = _set(store)
    data = _objects(UNITS, 3)
    with store.begin() as conn:
        replace_objects(conn, set_id, data)
    blocks = _blocks(store, set_id)
    for kind in (0, 1):
        mine = {p: units for p, (_, units) in blocks.items() if p // KIND_STRIDE == kind}
        assert len(mine) >= 3, "several blocks per kind"
        seen: set[int] = set()
        for _, units in sorted(mine.items()):
            assert units == sorted(units) and not seen & set(units), "a unit in one block"
            seen |= set(units)
        assert seen == set(UNITS)
    _cold()
    _assert_same(_columns(store, set_id), data)


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param([20], id="one-unit"),
        pytest.param([22, 24], id="one-block"),
        pytest.param([10, 30, 58], id="several-blocks"),
        pytest.param([11, 40, 61, 99], id="new-units"),  # 11, 61, 99 were never stored
        pytest.param([14, 16, 50], id="vanishing"),  # every object of these units goes
        pytest.param(list(UNITS), id="every-unit"),
    ],
)
def test_incremental_replace_equals_a_full_write(
    store: Store, small_blocks: None, changed: list[int]
) -> None:
    inc, full = _set(store, "inc"), _set(store, "full")
    old = _objects(UNITS, 4)
    vanishing = {14, 16, 50}
    new = _objects({u: (1 + u % 5, u % 3) for u in changed if u not in vanishing}, 5)
    want = _spliced(old, new, changed)
    with store.begin() as conn:
        replace_objects(conn, inc, old)
    before = _blocks(store, inc)
    _columns(store, inc)  # warm: the next assembly reuses the unchanged blocks
    with store.begin() as conn:
        replace_objects(conn, inc, new, unit_ids=changed)
        replace_objects(conn, full, want)
    warm = _columns(store, inc)
    _assert_same(warm, want)
    _cold()
    _assert_same(_columns(store, inc), want)
    _assert_same(_columns(store, full), want)
    with store.read() as conn:
        cols = open_columns(conn, inc)
        assert cols is not None and cols.count == want["kind"].size
    after = _blocks(store, inc)
    with store.read() as conn:
        raw = conn.execute(
            select(analysis_column_sets.c.bounds).where(analysis_column_sets.c.set_id == inc)
        ).scalar_one()
    bounds = np.frombuffer(bytes(raw), dtype="<i8")
    touched = set(np.searchsorted(bounds, changed, side="right").tolist())
    tokens = set()
    for part, (token, units) in after.items():  # only the changed units' blocks are rewritten
        if part % KIND_STRIDE in touched:
            tokens.add(token)
            assert part not in before or token != before[part][0]
        else:
            assert (token, units) == before[part]
    assert len(tokens) <= 1
    if len(changed) < 5:
        assert len(touched) < len(bounds) + 1


def test_an_empty_set(store: Store, small_blocks: None) -> None:
    set_id = _set(store)
    none = _objects({}, 6)
    with store.begin() as conn:
        replace_objects(conn, set_id, none)
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None and cols.count == 0
        assert cols["confidence"].dtype == np.dtype("<f8") and cols["x"].size == 0
        assert cols.kind_range(0) == slice(0, 0) == cols.kind_range(1)
        assert object_rows(conn, set_id) == []
        assert cols.positions(0, np.array([[1, 0, 0]])).tolist() == [-1]
    # and an incremental run adds to it as a full write would
    added = _objects({3: (2, 1), 9: (0, 4)}, 7)
    with store.begin() as conn:
        replace_objects(conn, set_id, added, unit_ids=[3, 9])
    _cold()
    _assert_same(_columns(store, set_id), added)


def test_a_second_write_is_seen_by_a_new_open(store: Store) -> None:
    set_id = _set(store)
    first, second = _objects(UNITS, 8), _objects({1: (4, 4)}, 9)
    with store.begin() as conn:
        replace_objects(conn, set_id, first)
    with store.read() as conn:
        held = open_columns(conn, set_id)
        assert held is not None
        assert held["confidence"].tobytes() == first["confidence"].tobytes()
    with store.begin() as conn:
        replace_objects(conn, set_id, second)
    _assert_same(_columns(store, set_id), second)
    assert held["confidence"].tobytes() == first["confidence"].tobytes()  # its own token


def test_positions_of_keys(store: Store, small_blocks: None) -> None:
    set_id = _set(store)
    data = _objects(UNITS, 10)
    with store.begin() as conn:
        replace_objects(conn, set_id, data)
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None
        for kind in (0, 1):
            rows = np.flatnonzero(data["kind"] == kind)
            keys = np.stack([data[n][rows] for n in ("data_unit_id", "frame", "seq")], axis=1)
            assert cols.positions(kind, keys).tolist() == rows.tolist()
            unit = 20
            span = cols.unit_range(kind, unit)
            assert data["data_unit_id"][span].tolist() == [unit] * UNITS[unit][kind]
        n_pred = UNITS[20][0]
        missing = np.array(
            [
                [20, 0, (n_pred + 1) // 2],  # past the frame's last seq
                [20, 5, 0],  # no such frame
                [21, 0, 0],  # no such unit
                [20, 0, -1],  # a negative seq
                [999, 0, 0],  # past every unit
                [20, 1, 0],  # there: between missing ones
            ]
        )
        got = cols.positions(0, missing).tolist()
        assert got[:5] == [-1] * 5
        assert got[5] >= 0 and data["data_unit_id"][got[5]] == 20 and data["frame"][got[5]] == 1


def test_bad_columns_are_refused(store: Store) -> None:
    set_id = _set(store)
    data = _objects(UNITS, 11)
    count = int(data["kind"].size)
    with store.begin() as conn:
        replace_objects(conn, set_id, data)
    cases: list[tuple[list[tuple[str, Any]], str]] = [
        ([(n, v[:-1] if n == "x" else v) for n, v in data.items()], "'x' has"),
        ([(n, v) for n, v in data.items() if n != "sig"], "missing sig"),
        ([*data.items(), ("x", data["x"])], "given twice"),
        ([*data.items(), ("colour", data["x"])], "'colour' is not a stored column"),
    ]
    for columns, message in cases:
        with pytest.raises(StoreError, match=message), store.begin() as conn:
            write_columns(conn, set_id, count, columns)
    short = {n: v[:-1] if n == "confidence" else v for n, v in data.items()}
    with pytest.raises(StoreError, match="'confidence'"), store.begin() as conn:
        replace_objects(conn, set_id, short)
    with pytest.raises(StoreError, match="'confidence'"), store.begin() as conn:
        unit = _rows(data, data["data_unit_id"] == 10)
        replace_objects(conn, set_id, {**unit, "confidence": unit["confidence"][1:]}, unit_ids=[10])
    lacking = {n: v for n, v in data.items() if n != "best_iou_any"}
    for unit_ids in (None, [10]):
        with pytest.raises(StoreError, match="missing best_iou_any"), store.begin() as conn:
            replace_objects(conn, set_id, lacking, unit_ids=unit_ids)
    never = _set(store, "never")
    with pytest.raises(StoreError, match="re-run with --full"), store.begin() as conn:
        replace_objects(conn, never, data, unit_ids=[10])
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None
        with pytest.raises(StoreError, match="not a stored column"):
            cols["colour"]
    _cold()
    _assert_same(_columns(store, set_id), data)  # every refused write rolled back


def test_a_rolled_back_write_leaves_the_old_columns(store: Store, small_blocks: None) -> None:
    set_id = _set(store)
    old = _objects(UNITS, 12)
    with store.begin() as conn:
        replace_objects(conn, set_id, old)
    _columns(store, set_id)
    new = _objects({20: (9, 9), 44: (1, 0)}, 13)
    for unit_ids in ([20, 44], None):
        with pytest.raises(RuntimeError), store.begin() as conn:
            replace_objects(conn, set_id, new, unit_ids=unit_ids)
            cols = open_columns(conn, set_id)  # the write's own view, cached under its token
            assert cols is not None and cols.count != old["kind"].size
            cols.load(DTYPES)
            raise RuntimeError("abort")
        _assert_same(_columns(store, set_id), old)  # reusing blocks: only the old tokens'
        _cold()
        _assert_same(_columns(store, set_id), old)


def _stored(store: Store, set_id: int) -> list[tuple[object, ...]]:
    """The set's block rows (name, part, count, dtype, bytes) and its set row, token aside."""
    c, s = analysis_columns.c, analysis_column_sets.c
    with store.read() as conn:
        blocks = conn.execute(
            select(c.name, c.part, c.count, c.dtype, c.data).where(c.set_id == set_id)
        ).all()
        sets = conn.execute(select(s.count, s.bounds).where(s.set_id == set_id)).all()
    rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in blocks]
    return sorted(rows, key=repr) + [(int(n), bytes(b)) for n, b in sets]


def test_a_full_write_over_stored_blocks_equals_a_fresh_one(
    store: Store, small_blocks: None
) -> None:
    """A full write rewrites the stored blocks where they stand: the blocks that keep their
    bytes, those that change, those a smaller set no longer has (deleted) and new ones all end
    as a write to an empty set leaves them, each with the new token."""
    over, fresh = _set(store), _set(store, "other")
    before = _objects(UNITS, 11)
    fewer = {u: n for u, n in UNITS.items() if u < 40}
    fewer[90] = (5, 1)  # a unit the stored set never had
    after = _objects(fewer, 11)  # the same seed: the first units' blocks keep their bytes
    after["confidence"] = after["confidence"] + 1.0  # one column changes everywhere
    with store.begin() as conn:
        replace_objects(conn, over, before)
    old = _blocks(store, over)
    with store.begin() as conn:
        token = replace_objects(conn, over, after)
        replace_objects(conn, fresh, after)
    assert _stored(store, over) == _stored(store, fresh)
    assert {t for t, _ in _blocks(store, over).values()} == {token}
    assert len(_blocks(store, over)) < len(old)
    _cold()
    _assert_same(_columns(store, over), after)
