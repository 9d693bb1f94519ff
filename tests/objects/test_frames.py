from __future__ import annotations

import pytest

from predscope.exceptions import FrameError
from predscope.objects.frames import (
    Range,
    frames_to_list,
    frames_to_ranges,
    ranges_from_json,
    ranges_to_json,
    ranges_to_list,
)


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 3), (5, 4), (True, 3), (0, False), (1.0, 2), (0, "3"), (None, 1)],
)
def test_range_rejects_bad_bounds(start: object, end: object) -> None:
    with pytest.raises(FrameError):
        Range(start, end)  # type: ignore[arg-type]


def test_range_single_frame_ok() -> None:
    r = Range(7, 7)
    assert (r.start, r.end) == (7, 7)
    assert ranges_to_list([r]) == [7]


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        (3, [3]),
        ([5, 1, 1, 3], [1, 3, 5]),
        ({4, 2}, [2, 4]),
        (Range(2, 5), [2, 3, 4, 5]),
        ([Range(4, 6), Range(0, 1), Range(5, 8)], [0, 1, 4, 5, 6, 7, 8]),
        ([Range(0, 1), 9], [0, 1, 9]),
        ([], []),
    ],
)
def test_frames_to_list(frames: object, expected: list[int]) -> None:
    assert frames_to_list(frames) == expected  # type: ignore[arg-type]


def test_frames_to_ranges_merges_overlapping_and_adjacent() -> None:
    got = frames_to_ranges([Range(10, 12), 3, 4, 5, Range(6, 6), 8, Range(11, 20)])
    assert got == [Range(3, 6), Range(8, 8), Range(10, 20)]


def test_frames_to_ranges_does_not_expand_large_ranges() -> None:
    got = frames_to_ranges([Range(0, 10**12), Range(5, 10**13)])
    assert got == [Range(0, 10**13)]


@pytest.mark.parametrize("bad", [-1, True, [1, -2], [1, 2.0], "3", None, [None]])
def test_frames_rejects_bad_input(bad: object) -> None:
    with pytest.raises(FrameError):
        frames_to_list(bad)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    ranges = [Range(0, 4), Range(9, 9)]
    as_json = ranges_to_json(ranges)
    assert as_json == [[0, 4], [9, 9]]
    assert ranges_from_json(as_json) == ranges
    assert ranges_from_json([{"start": 2, "end": 3}]) == [Range(2, 3)]


@pytest.mark.parametrize("bad", [{"a": 1}, [[1]], [[1, 2, 3]], [[3, 1]], [[0, True]], ["x"]])
def test_ranges_from_json_names_where(bad: object) -> None:
    with pytest.raises(FrameError, match="classification_answers.abc.range"):
        ranges_from_json(bad, where="classification_answers.abc.range")
