"""Columns of the analysis write: ``Stacked`` gathers rows of two parts exactly as the joined
column would give them, and ``_python`` turns NaN and masked values into None."""

from __future__ import annotations

import math

import numpy as np

from predscope.store.analysis_objects import Nullable, Stacked, _part, _python


def test_stacked_take_equals_the_joined_column() -> None:
    rng = np.random.default_rng(7)
    head, tail = rng.random(37), rng.random(11)
    picks = rng.permutation(48)
    joined = np.concatenate([head, tail])
    assert np.array_equal(Stacked(head, tail).take(picks), joined[picks])
    assert np.array_equal(np.asarray(Stacked(head, tail)), joined)
    ints = Stacked(np.arange(5, dtype=np.int8), np.arange(100, 103, dtype=np.int32))
    assert ints.take(np.array([6, 0, 7, 4])).tolist() == [101, 0, 102, 4]
    words = Stacked(("a", "b"), ("c",))
    assert words.take(np.array([2, 0, 1])) == ["c", "a", "b"]
    masked = Stacked(
        Nullable(np.array([1, 2, 3]), np.array([True, False, True])),
        Nullable(np.array([9]), np.array([True])),
    )
    assert _python(masked.take(np.array([3, 1, 0]))) == [9, None, 1]


def test_part_takes_order_a_chunk_at_a_time_from_every_kind_of_column() -> None:
    order = np.array([2, 0, 1])
    assert _part(np.array([10, 20, 30]), 0, order).tolist() == [30, 10, 20]
    assert _part(["x", "y", "z"], 0, order) == ["z", "x", "y"]
    assert _part(Stacked(np.array([1.0]), np.array([2.0, 3.0])), 0, None).tolist() == [1, 2, 3]
    assert _part(np.broadcast_to(np.int64(4), (3,)), 0, order).tolist() == [4, 4, 4]


def test_python_values() -> None:
    assert _python(np.array([1.5, math.nan])) == [1.5, None]
    assert _python(np.array([1, 2], dtype=np.int16)) == [1, 2]
    assert _python(Nullable(np.array([5, 6], dtype=np.int32), np.array([False, True]))) == [
        None,
        6,
    ]
    assert [type(v) for v in _python(np.array([3], dtype=np.int32))] == [int]


def test_copy_column_equals_the_value_by_value_text() -> None:
    from predscope.store.analysis_objects import _copy_column, _copy_text

    rng = np.random.default_rng(3)
    floats = rng.random(50) * 10.0 ** rng.integers(-8, 8, 50)
    floats[[3, 17]] = math.nan
    columns = [
        floats,
        rng.random(5),
        rng.integers(-5, 10**9, 40),
        np.array([0, 1, 4], dtype=np.int8),
        Nullable(rng.integers(0, 99, 30), rng.random(30) < 0.5),
        ["plain", "tab\there", "back\\slash", "new\nline"],
        ("a", "b"),
        [1.5, None, "x"],
    ]
    for column in columns:
        assert _copy_column(column) == [_copy_text(v) for v in _python(column)]
