"""Frame indices and inclusive frame ranges, as Encord's ``Frames`` argument accepts them.

Ranges stay ranges wherever possible so that a classification over a million-frame video never
expands into a million-element list unless a caller asks for the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from predscope.exceptions import FrameError


def _is_index(value: object) -> bool:
    # bool is an int subclass, but True as a frame number is always a bug.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive range of frames (or milliseconds / characters for audio and text)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (_is_index(self.start) and _is_index(self.end)):
            raise FrameError(
                f"Range(start={self.start!r}, end={self.end!r}): start and end must be ints"
                " - pass whole frame numbers"
            )
        if self.start < 0 or self.end < self.start:
            raise FrameError(
                f"Range(start={self.start}, end={self.end}): needs 0 <= start <= end"
                " - ranges are inclusive, so a single frame n is Range(n, n)"
            )


Frames = int | list[int] | Range | list[Range] | set[int]


def _check_index(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FrameError(f"{where}: frame {value!r} is not an int - pass whole frame numbers")
    index = int(value)
    if index < 0:
        raise FrameError(f"{where}: frame {index} is negative - frames count from 0")
    return index


def _as_ranges(frames: Frames | Iterable[int | Range]) -> list[Range]:
    """Each item of ``frames`` as an unmerged range."""
    if isinstance(frames, Range):
        return [frames]
    if _is_index(frames):
        index = _check_index(frames, "frames")
        return [Range(index, index)]
    if not isinstance(frames, (list, tuple, set, frozenset)):
        raise FrameError(
            f"frames: {type(frames).__name__} is not a frame, a Range or a list/set of them"
            " - pass an int, Range, list[int], list[Range] or set[int]"
        )
    out: list[Range] = []
    for item in frames:
        if isinstance(item, Range):
            out.append(item)
        else:
            index = _check_index(item, "frames")
            out.append(Range(index, index))
    return out


def frames_to_ranges(frames: Frames | Iterable[int | Range]) -> list[Range]:
    """Sorted ranges with overlapping and adjacent ones merged."""
    ranges = sorted(_as_ranges(frames), key=lambda r: (r.start, r.end))
    merged: list[Range] = []
    for current in ranges:
        if merged and current.start <= merged[-1].end + 1:
            last = merged[-1]
            if current.end > last.end:
                merged[-1] = Range(last.start, current.end)
        else:
            merged.append(current)
    return merged


def ranges_to_list(ranges: Iterable[Range]) -> list[int]:
    """Every frame the ranges cover, sorted and unique."""
    covered: set[int] = set()
    for r in ranges:
        covered.update(range(r.start, r.end + 1))
    return sorted(covered)


def frames_to_list(frames: Frames | Iterable[int | Range]) -> list[int]:
    """Every frame ``frames`` covers, sorted and unique."""
    return ranges_to_list(frames_to_ranges(frames))


def ranges_to_json(ranges: Iterable[Range]) -> list[list[int]]:
    """Encord's ``range`` form: ``[[start, end], ...]``."""
    return [[r.start, r.end] for r in ranges]


def ranges_from_json(obj: Any, where: str = "range") -> list[Range]:
    """Read ``[[start, end], ...]`` (also ``{"start", "end"}`` items), naming ``where`` on error."""
    if not isinstance(obj, list):
        raise FrameError(
            f"{where}: expected a list of [start, end] pairs, got {type(obj).__name__}"
            " - write ranges as [[0, 4], [9, 9]]"
        )
    out: list[Range] = []
    for i, item in enumerate(obj):
        if isinstance(item, dict) and "start" in item and "end" in item:
            pair: Any = [item["start"], item["end"]]
        else:
            pair = item
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise FrameError(
                f"{where}[{i}]: expected a [start, end] pair, got {item!r}"
                " - write ranges as [[0, 4], [9, 9]]"
            )
        start, end = pair
        try:
            out.append(Range(start, end))
        except FrameError as exc:
            raise FrameError(f"{where}[{i}]: {exc}") from None
    return out
