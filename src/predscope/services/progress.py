"""Progress of long work (imports, media probing, analysis runs), reported through a callback.

Services never draw anything: they call the ``Progress`` callback their caller passed in, and the
caller decides what a person sees (the CLI draws a Rich bar on stderr, the server stores the
numbers for the page that follows a run). ``None`` means nobody is watching.

Example:
    >>> seen = []
    >>> with progress_steps(seen.append, "reading", 2) as advance:
    ...     advance()
    ...     advance()
    >>> [(u.stage, u.done, u.total) for u in seen]
    [('reading', 0, 2), ('reading', 1, 2), ('reading', 2, 2)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """``done`` of ``total`` units of ``stage`` finished (``total`` None when unknown)."""

    stage: str
    done: int
    total: int | None


Progress = Callable[[ProgressUpdate], None]
Advance = Callable[..., None]


def no_progress(n: int = 1) -> None:
    """The ``advance`` of work nobody watches."""


@contextmanager
def progress_steps(progress: Progress | None, stage: str, total: int | None) -> Iterator[Advance]:
    """Yield ``advance(n=1)``, which reports ``stage`` to ``progress`` (a no-op for None)."""
    if progress is None:
        yield no_progress
        return
    callback = progress
    done = 0
    callback(ProgressUpdate(stage, 0, total))

    def advance(n: int = 1) -> None:
        nonlocal done
        done += n
        callback(ProgressUpdate(stage, done, total))

    yield advance
