"""The ``predscope`` command: one Typer app, one module per command group.

Each command module exposes ``register(app)``; this file only assembles them and turns
``PredscopeError`` into a one-line message and exit code 1 (usage errors stay exit 2). With
``--json`` the error is JSON on stdout instead (``{"error": {"code": ..., "message": ...}}``, the
code from ``exceptions.py``, or ``usage_error`` / ``aborted``), with the same exit code, so a
script reads one stream whatever happens.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

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
    "analyse",  # analyse a branch against main, store the run
    "metrics",  # metrics of a stored run; prediction sets and their review
    "query",  # objects, units: the query layer
    "compare",  # two analysed prediction sets side by side
    "demo",  # the README's main job
    "keys",  # keys add|list|remove: Ed25519 keys for Encord SDK scripts
    "sync",  # sync encord: copy a project from an Encord server and keep it in step
    "serve",  # the HTTP API
    "token",  # tokens for serve off loopback
)

err_console = Console(stderr=True, soft_wrap=True)

# Codes of the errors Typer raises itself (PredscopeError subclasses carry their own ``code``).
USAGE_ERROR_CODE = "usage_error"
ABORTED_CODE = "aborted"


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


def wants_json(args: list[str]) -> bool:
    """Whether ``--json`` is among the options (arguments after ``--`` are values, not options).

    Read from the raw arguments because an error can come before (or instead of) Typer parsing
    them: an unknown option or a bad value is raised while the command's own ``--json`` is unseen.
    No option of ours takes a value that could be the literal ``--json``.
    """
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options


def _json_error(code: str, message: str, exit_code: int) -> NoReturn:
    from predscope.cli.common import print_json

    print_json({"error": {"code": code, "message": message}})
    sys.exit(exit_code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    app = build_app()
    args = list(sys.argv[1:] if argv is None else argv)
    if not wants_json(args):
        try:
            app(args=args, standalone_mode=True)
        except PredscopeError as exc:
            err_console.print(f"error: {exc}", style="bold red", highlight=False, markup=False)
            sys.exit(1)
        return
    try:
        # Not standalone: Typer raises usage errors and aborts to us instead of printing them.
        code = app(args=args, standalone_mode=False)
    except PredscopeError as exc:
        _json_error(exc.code, str(exc), 1)
    except typer.TyperException as exc:  # Typer's usage errors (exit 2) and file errors
        _json_error(USAGE_ERROR_CODE, exc.format_message(), exc.exit_code)
    except typer.Abort:
        _json_error(ABORTED_CODE, "aborted: nothing was changed", 1)
    if isinstance(code, int) and code:
        sys.exit(code)
