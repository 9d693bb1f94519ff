"""Progress bars for long work (imports, media probing), shared by every bulk path.

A bar goes to stderr so that machine-readable stdout (``--json``) stays clean, and it is transient:
once the work is done only the command's own report remains on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

Advance = Callable[..., None]


def no_progress(n: int = 1) -> None:
    """The ``advance`` of a disabled bar."""


@contextmanager
def progress_bar(
    enabled: bool, description: str, total: int, *, console: Console | None = None
) -> Iterator[Advance]:
    """Yield ``advance(n=1)``: a Rich progress bar when ``enabled``, else a no-op."""
    if not enabled:
        yield no_progress
        return
    from rich.progress import Progress

    with Progress(transient=True, console=console or Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance
