"""The ``predscope`` command: one Typer app, one module per command group.

Each command module exposes ``register(app)``; this file only assembles them and turns
``PredscopeError`` into a one-line message and exit code 1 (usage errors stay exit 2).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from rich.console import Console

from predscope.cli.groups import GROUPS
from predscope.exceptions import PredscopeError

# Command-group modules under predscope.cli, registered in this order.
COMMAND_MODULES = (
    "projects",  # project create|list|show, data add, ontology show, branches
    "labels",  # the verify listing
    "encord_io",  # import encord, export encord
    "coco_io",  # import coco, export coco
    "text_io",  # import yolo, import voc
    "evaluate",  # eval GT DT
    "analyse",  # a stored branch against main
    "demo",  # the README's main job
    "keys",  # keys add|list|remove: Ed25519 keys for Encord SDK scripts
    "serve",  # the HTTP API
    "token",  # tokens for serve off loopback
)

err_console = Console(stderr=True, soft_wrap=True)


def build_app() -> typer.Typer:
    """Assemble the Typer app from the command modules that exist."""
    app = typer.Typer(
        name="predscope",
        help="Import predictions as label branches, verify them, measure them COCO-exactly.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        module_name = f"predscope.cli.{name}"
        try:
            module: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(app)
    for name, group in GROUPS:
        if group.registered_commands or group.registered_groups:
            app.add_typer(group, name=name)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    app = build_app()
    try:
        app(args=argv, standalone_mode=True)
    except PredscopeError as exc:
        err_console.print(f"error: {exc}", style="bold red", highlight=False, markup=False)
        sys.exit(1)
