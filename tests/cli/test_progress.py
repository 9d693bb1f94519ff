"""``cli.progress``: a Rich bar on the terminal when a person watches, nothing otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from predscope.cli.progress import terminal_progress
from predscope.services.progress import progress_steps


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_enabled_bar_draws_its_stage_and_completion() -> None:
    console, out = _terminal()
    with terminal_progress(True, console=console) as progress:
        assert progress is not None
        with progress_steps(progress, "importing 3 label rows", 3) as advance:
            for _ in range(3):
                advance()
    text = out.getvalue()
    assert "importing 3 label rows" in text
    assert "100%" in text


def test_disabled_bar_gives_no_callback_and_draws_nothing() -> None:
    console, out = _terminal()
    with terminal_progress(False, console=console) as progress:
        assert progress is None
    assert out.getvalue() == ""
