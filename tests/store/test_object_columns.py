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
from predscope.store.engine import Store, open_store
from predscope.store.object_columns import (
    DTYPES,
    object_rows,
    open_columns,
    replace_objects,
    write_columns,
)
from predscope.store.schema import analysis_columns
from tests.store.column_fixtures import make_set, objects, sorted_columns, union


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _assert_stored(store: Store, set_id: int, want: dict[str, np.ndarray]) -> None:
    with store.read() as conn:
        cols = open_columns(conn, set_id)
        assert cols is not None
        for name, values in want.items():
            got = cols[name]
            assert got.dtype == values.dtype, name
            assert got.tobytes() == values.tobytes(), name


def test_every_dtype_round_trips_bit_for_bit(store: Store) -> None:
    set_id = make_set(store)
    new = objects(1, [3, 9, 40])
    with store.begin() as conn:
        replace_objects(conn, set_id, new)
    want = sorted_columns(new)
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
    set_id = make_set(store)
    units = list(range(1, 21))
    first = {u: objects(u, [u]) for u in units}
    with store.begin() as conn:
        replace_objects(conn, set_id, union(*first.values()))
    with store.read() as conn:
        before = open_columns(conn, set_id)
        assert before is not None
        old_values = before["confidence"].copy()
        c = analysis_columns.c
        query = select(c.part, c.token).where(c.set_id == set_id, c.name == "confidence")
        blocks = dict(conn.execute(query).all())
    assert len(blocks) > 4  # several blocks of each kind
    changed = {7: objects(107, [7]), 8: objects(108, [8])}
    with store.begin() as conn:
        replace_objects(conn, set_id, union(*changed.values()), unit_ids=[7, 8])
    want = sorted_columns(union(*{**first, **changed}.values()))
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
    other = make_set(store, "other")
    with store.begin() as conn:
        replace_objects(conn, other, union(*{**first, **changed}.values()))
    with store.read() as conn:
        assert object_rows(conn, other) == object_rows(conn, set_id)


def test_a_second_write_is_seen_by_a_new_open(store: Store) -> None:
    set_id = make_set(store)
    with store.begin() as conn:
        replace_objects(conn, set_id, objects(1, [1, 2]))
    with store.read() as conn:
        first = open_columns(conn, set_id)
        assert first is not None
        first_conf = first["confidence"].tobytes()
    second = objects(2, [1, 2, 5])
    with store.begin() as conn:
        replace_objects(conn, set_id, second)
    with store.read() as conn:
        now = open_columns(conn, set_id)
        assert now is not None and now.token != first.token
        assert now.count == len(second["kind"])
        assert now["confidence"].tobytes() == sorted_columns(second)["confidence"].tobytes()
        assert now["confidence"].tobytes() != first_conf
        assert first["confidence"].tobytes() == first_conf


def test_an_empty_set(store: Store) -> None:
    set_id = make_set(store)
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
    set_id = make_set(store)
    new = objects(5, [2, 4, 6])
    with store.begin() as conn:
        replace_objects(conn, set_id, new)
    want = sorted_columns(new)
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
    set_id = make_set(store)
    good = sorted_columns(objects(3, [1]))
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
