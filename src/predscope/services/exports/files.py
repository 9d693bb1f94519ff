"""Export files appear whole or not at all: written beside the target, renamed on success.

A failed export (a bad row found half-way, a full disk, Ctrl-C) leaves the target as it was:
absent, or the previous export. The temporary file is a hidden sibling so the rename stays on
one file system and is atomic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from predscope.exceptions import OutputPathError

__all__ = ["atomic_output"]


def _refuse(target: Path, exc: OSError) -> OutputPathError:
    reason = exc.strerror or type(exc).__name__
    return OutputPathError(
        f"export: cannot write {str(target)!r} ({reason}) - pick a file in an existing folder "
        "you can write to; nothing was written"
    )


@contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` only when the ``with`` block ends without error."""
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(
            f"export: {str(target)!r} is a folder - give a file name; nothing was written"
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        out = partial.open("wb")
    except OSError as exc:
        raise _refuse(target, exc) from None
    try:
        with out:
            yield out
        try:
            partial.replace(target)
        except OSError as exc:
            raise _refuse(target, exc) from None
    finally:
        partial.unlink(missing_ok=True)
