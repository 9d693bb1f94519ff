"""Pieces every command module shares: the ``--store`` / ``--json`` options and store opening.

Keeping them here means each command resolves the store the same way (option, then
``$PREDSCOPE_HOME``, then ``~/.predscope``) and prints JSON the same way, so scripts can rely on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

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
    """Stable, readable JSON (sorted only where the caller sorted; unicode kept)."""
    from predscope.formats.json_text import json_default

    return json.dumps(data, indent=2, ensure_ascii=False, default=json_default)


def print_json(data: Any) -> None:
    """Write JSON to stdout untouched by Rich, so ``| jq`` always works."""
    typer.echo(to_json_text(data))
