"""The stored object columns on SQLite and PostgreSQL: every dtype comes back bit for bit, blocks
split and an incremental write rewrites only its units' blocks, a later write is seen by the
next ``open_columns`` (and an earlier one's readers keep theirs), empty sets, lookups by key,
and a bad write refused whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from predscope.exceptions import StoreError
from predscope.store import object_columns as oc
from predscope.store.analysis import get_or_create_set
from predscope.store.engine import Store, open_store
from predscope.store.object_columns import (
    DTYPES,
    THRESHOLDS,
    object_rows,
    open_columns,
    replace_objects,
    storage_order,
    write_columns,
)
from predscope.store.projects import create_project
from predscope.store.schema import analysis_columns


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _set(store: Store, branch: str = "model") -> int:
    with store.begin() as conn:
        project = conn.exec_driver_sql("SELECT id FROM projects").scalar()
        if project is None:
            project = create_project(conn, "p", {"objects": []}).id
        return get_or_create_set(conn, int(project), branch, "main").id


def _objects(seed: int, units: list[int]) -> dict[str, np.ndarray]:
    """Objects on ``units`` (0-5 per kind and frame, two frames), every column filled with the
    values its dtype must keep: NaN, infinities, -0.0, subnormals, -1 partners, non-ASCII
    hashes, the integer types' extremes."""
    rng = np.random.default_rng(seed)
    keys = [
        (k, u, f, s)
        for k in (0, 1)
        for u in units
        for f in (0, 3)
        for s in range(int(rng.integers(0, 6)))
    ]
    n = len(keys)
    kind, unit, frame, seq = (np.array(c, dtype=np.int64) for c in zip(*keys, strict=True))
    out: dict[str, np.ndarray] = {"kind": kind, "data_unit_id": unit, "frame": frame, "seq": seq}
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1e308, 0.1])
    for name, spec in DTYPES.items():
        if name in out:
            continue
        if name == "object_hash":
            out[name] = np.array([f"h{seed}-{i}" + ("é" if i % 7 == 0 else "") for i in range(n)])
        elif spec == "<f8":
            values = rng.random(n) * 10.0 ** rng.integers(-5, 6, n)
            values[: min(n, len(specials))] = specials[: min(n, len(specials))]
            out[name] = rng.permutation(values)
        else:
            info = np.iinfo(np.dtype(spec))
            values = rng.integers(0, 5, n).astype(np.int64)
            values[:2] = [info.min, info.max][: min(n, 2)]
            out[name] = rng.permutation(values)
    for t in range(THRESHOLDS):  # partners and IoUs empty together, as a run stores them
        empty = rng.random(n) < 0.6
        out[f"p{t}"] = np.where(empty, -1, rng.integers(0, 6, n))
        out[f"i{t}"] = np.where(empty, np.nan, rng.random(n))
    shuffle = rng.permutation(n)  # not in storage order: the write sorts
    return {name: values[shuffle] for name, values in out.items()}


def _sorted(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns as the store must give them back: typed, in storage order."""
    order = storage_order(*(columns[k] for k in ("kind", "data_unit_id", "frame", "seq")))
    typed = {name: oc._typed(name, values) for name, values in columns.items()}
    return typed if order is None else {name: v[order] for name, v in typed.items()}


def _assert_stored(store: Store, set_id: int, want: dict[str, np.ndarray]) -> None:
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None
        for name, values in want.items():
            got = cols[name]
            assert got.dtype == values.dtype, name
            assert got.tobytes() == values.tobytes(), name


def _union(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def test_every_dtype_round_trips_bit_for_bit(store: Store) -> None:
    set_id = _set(store)
    new = _objects(1, [3, 9, 40])
    with store.begin() as conn:
        replace_objects(conn, set_id, new)
    want = _sorted(new)
    _assert_stored(store, set_id, want)
    with store.read() as conn:
        rows = object_rows(conn, set_id)
        picked = object_rows(conn, set_id, np.array([4, 0]))
    assert [r["id"] for r in rows] == list(range(len(want["kind"])))
    assert picked == [rows[4], rows[0]]
    for name in ("aspect_ratio", "i0", "p0"):
        empty = np.isnan(want[name]) if name != "p0" else want[name] == -1
        assert [r[name] is None for r in rows] == empty.tolist(), name
    assert any("é" in r["object_hash"] for r in rows)
    assert {r["data_unit_id"] for r in rows} == {3, 9, 40}


def test_blocks_split_and_an_incremental_write_rewrites_only_its_blocks(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oc, "BLOCK_ROWS", 8)
    set_id = _set(store)
    units = list(range(1, 21))
    first = {u: _objects(u, [u]) for u in units}
    with store.begin() as conn:
        replace_objects(conn, set_id, _union(*first.values()))
    with store.read() as conn:
        before = open_columns(conn, set_id)
        assert before is not None
        old_values = before["confidence"].copy()
        c = analysis_columns.c
        query = select(c.part, c.token).where(c.set_id == set_id, c.name == "confidence")
        blocks = dict(conn.execute(query).all())
    assert len(blocks) > 4  # several blocks of each kind
    changed = {7: _objects(107, [7]), 8: _objects(108, [8])}
    with store.begin() as conn:
        replace_objects(conn, set_id, _union(*changed.values()), unit_ids=[7, 8])
    want = _sorted(_union(*{**first, **changed}.values()))
    read: dict[str, list[int]] = {}
    real = oc._stored_blocks

    def spy(conn: Any, set_id: int, parts: Any, names: Any = None) -> Any:
        for name in names or ["*"]:
            read.setdefault(name, []).extend(parts)
        return real(conn, set_id, parts, names)

    monkeypatch.setattr(oc, "_stored_blocks", spy)
    _assert_stored(store, set_id, want)  # after the earlier read: its blocks reused
    with store.read() as conn:
        after = dict(conn.execute(query).all())
    assert after.keys() == blocks.keys()
    rewritten = {p for p in blocks if after[p] != blocks[p]}
    assert 0 < len(rewritten) <= 4  # the blocks of units 7 and 8 in each kind, no other
    assert sorted(read["confidence"]) == sorted(rewritten)  # only those were read again
    assert sorted(read["kind"]) == sorted(blocks)  # never read before: every block
    # the earlier reader (its token) still sees its columns; a fresh process sees the new ones
    assert before["confidence"].tobytes() == old_values.tobytes()
    monkeypatch.setattr(oc, "_CACHE", oc._Cache())
    monkeypatch.setattr(oc, "_LATEST", {})
    _assert_stored(store, set_id, want)
    # and it equals what a full write of the same objects stores
    other = _set(store, "other")
    with store.begin() as conn:
        replace_objects(conn, other, _union(*{**first, **changed}.values()))
    with store.read() as conn:
        assert object_rows(conn, other) == object_rows(conn, set_id)


def test_a_second_write_is_seen_by_a_new_open(store: Store) -> None:
    set_id = _set(store)
    with store.begin() as conn:
        replace_objects(conn, set_id, _objects(1, [1, 2]))
    with store.read() as conn:
        first = open_columns(conn, set_id)
        assert first is not None
        first_conf = first["confidence"].tobytes()
    second = _objects(2, [1, 2, 5])
    with store.begin() as conn:
        replace_objects(conn, set_id, second)
    with store.read() as conn:
        now = open_columns(conn, set_id)
        assert now is not None and now.token != first.token
        assert now.count == len(second["kind"])
        assert now["confidence"].tobytes() == _sorted(second)["confidence"].tobytes()
        assert now["confidence"].tobytes() != first_conf
        assert first["confidence"].tobytes() == first_conf


def test_an_empty_set(store: Store) -> None:
    set_id = _set(store)
    with store.read() as conn:
        assert open_columns(conn, set_id) is None
        assert object_rows(conn, set_id) == []
    with store.begin() as conn:
        write_columns(conn, set_id, 0, ((name, []) for name in DTYPES))
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None and cols.count == 0
        for name, spec in DTYPES.items():
            assert cols[name].shape == (0,), name
            if spec != "S":
                assert cols[name].dtype == np.dtype(spec), name
        assert cols.kind_range(1) == slice(0, 0)
        assert cols.positions(1, np.array([[1, 0, 0]])).tolist() == [-1]
        assert object_rows(conn, set_id) == []


def test_positions_of_keys_some_missing(store: Store) -> None:
    set_id = _set(store)
    new = _objects(5, [2, 4, 6])
    with store.begin() as conn:
        replace_objects(conn, set_id, new)
    want = _sorted(new)
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None
        gt = np.flatnonzero(want["kind"] == 1)
        keys = np.stack([want[k][gt] for k in ("data_unit_id", "frame", "seq")], axis=1)
        assert cols.positions(1, keys[::-1]).tolist() == gt[::-1].tolist()
        u, f = int(keys[0, 0]), int(keys[0, 1])
        frame_size = int(np.count_nonzero((keys[:, 0] == u) & (keys[:, 1] == f)))
        missing = np.array(
            [[5, 0, 0], [u, 1, 0], [u, f, frame_size], [u, f, -1], [99, 3, 0], [0, 0, 0]]
        )
        assert cols.positions(1, missing).tolist() == [-1] * len(missing)
        mixed = np.array([missing[0], keys[1], missing[2]])
        assert cols.positions(1, mixed).tolist() == [-1, int(gt[1]), -1]
        pred = np.flatnonzero(want["kind"] == 0)
        first = [[want[k][pred[0]] for k in ("data_unit_id", "frame", "seq")]]
        assert cols.positions(0, np.array(first)).tolist() == [int(pred[0])]


def test_a_bad_write_is_refused_whole(store: Store) -> None:
    set_id = _set(store)
    good = _sorted(_objects(3, [1]))
    with store.begin() as conn:
        token = write_columns(conn, set_id, len(good["kind"]), good.items())
    n = len(good["kind"])
    cases: list[tuple[Any, str]] = [
        ([(k, v[:-1] if k == "confidence" else v) for k, v in good.items()], "'confidence' has"),
        ([*good.items(), ("x", good["x"])], "given twice"),
        ([(k, v) for k, v in good.items() if k != "sig"], "missing sig"),
        ([*good.items(), ("colour", good["x"])], "'colour' is not a stored column"),
    ]
    for columns, message in cases:
        with pytest.raises(StoreError, match=message), store.begin() as conn:
            write_columns(conn, set_id, n, columns)
        with store.read() as conn:
            cols = open_columns(conn, set_id)
            assert cols is not None and cols.token == token  # the previous write stands
    _assert_stored(store, set_id, good)
