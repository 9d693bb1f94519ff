"""The terminal side of ``services.progress``: a transient Rich bar on stderr.

stdout stays clean for ``--json``; the bar disappears when the work is done, so only the command's
own report remains on screen. It is drawn only when a person is watching (stderr is a terminal and
no JSON was asked for).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from predscope.services.progress import Progress, ProgressUpdate


def show_progress(as_json: bool) -> bool:
    """Bars only for a person watching: stderr is a terminal and no JSON was asked for."""
    return not as_json and sys.stderr.isatty()


@contextmanager
def terminal_progress(
    enabled: bool, *, console: Console | None = None
) -> Iterator[Progress | None]:
    """Yield a ``Progress`` callback that draws one bar per stage, or None when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress as RichProgress

    with RichProgress(transient=True, console=console or Console(stderr=True)) as bar:
        tasks: dict[str, Any] = {}

        def report(update: ProgressUpdate) -> None:
            task = tasks.get(update.stage)
            if task is None:
                task = tasks[update.stage] = bar.add_task(update.stage, total=update.total)
            bar.update(task, completed=update.done, total=update.total)

        yield report
