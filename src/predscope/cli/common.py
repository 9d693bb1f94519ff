"""Pieces every command module shares: the ``--store`` / ``--json`` options and store opening.

Keeping them here means each command resolves the store the same way (option, then
``$PREDSCOPE_HOME``, then ``~/.predscope``) and prints JSON the same way, so scripts can rely on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from predscope.exceptions import PredscopeError

if TYPE_CHECKING:
    from predscope.store.engine import Store
    from predscope.store.records import ProjectRecord

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store location: a folder (SQLite inside) or a SQLAlchemy URL. "
        "Default: $PREDSCOPE_HOME, else ~/.predscope.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")
]

# Plain stdout console: no colour codes when piped, wide enough that listings do not wrap.
console = Console(highlight=False, soft_wrap=True)


def open_cli_store(location: str | None) -> Store:
    """Open (and on first use create) the store a command was pointed at."""
    from predscope.store.engine import open_store

    return open_store(location or None)


@contextmanager
def cli_store(location: str | None) -> Iterator[Store]:
    """Open the store for one command and release its connections afterwards."""
    store = open_cli_store(location)
    try:
        yield store
    finally:
        store.close()


def find_project(store: Store, project: str) -> ProjectRecord:
    """The project named by hash or title (raises ``ResourceNotFoundError`` with a hint)."""
    from predscope.services.projects import get_project

    return get_project(store, project)


def to_json_text(data: Any) -> str:
    """Readable JSON in the caller's key order, unicode kept, written by orjson as ``eval --json``
    is (``json.dumps`` with an indent runs a pure-Python encoder: 0.4 s for one analysis
    document); a value JSON cannot hold (NaN, infinity) is ``null``, which ``jq`` reads."""
    import orjson

    from predscope.formats.json_text import json_default

    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(data, default=json_default, option=options).decode()


def print_json(data: Any) -> None:
    """Write JSON to stdout untouched by Rich, so ``| jq`` always works."""
    typer.echo(to_json_text(data))


class StreamedOutput:
    """A stdout writer that remembers whether anything was written, for ``fail_streamed``."""

    def __init__(self, write: Callable[[Any], object]) -> None:
        self._write = write
        self.started = False

    def write(self, data: Any) -> None:
        if data:
            self.started = True
        self._write(data)

    def seekable(self) -> bool:
        """Never rewound: what was written has been seen (an export renumbers in a spare file)."""
        return False


def fail_streamed(exc: PredscopeError, out: StreamedOutput, as_json: bool) -> NoReturn:
    """End a stream that failed after output began (docs/design.md, "Errors in a stream").

    Before any output the error is raised as usual. After it, with ``--json``, stdout gets a
    newline and the error as the last line, one compact ``{"error": {"code", "message"}}``, so a
    reader sees at once that the text before it is incomplete; without ``--json`` the error goes
    to stderr. Either way the exit code is 1.
    """
    if not out.started:
        raise exc
    sys.stdout.flush()
    if as_json:
        line = json.dumps({"error": {"code": exc.code, "message": str(exc)}}, ensure_ascii=False)
        sys.stdout.write("\n" + line + "\n")
        sys.stdout.flush()
    else:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)
