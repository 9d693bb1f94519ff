"""``predscope labels PROJECT``: the verify listing of the prediction-import guide.

Text output is what the guide's verify script prints, line for line, plus what that script leaves
out: nested attribute answers and each classification frame's confidence, so users can check an
import without writing the script; ``--json`` carries the same content as data. Both stream.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from predscope.cli.common import (
    JsonOption,
    StoreOption,
    StreamedOutput,
    cli_store,
    fail_streamed,
)
from predscope.exceptions import PredscopeError


def labels(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="List one branch (default: main).")
    ] = None,
    all_branches: Annotated[
        bool, typer.Option("--all-branches", help="List every existing row on every branch.")
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """List rows with their objects, annotations, answers and classifications."""
    from predscope.services.projects import get_project

    if branch is not None and all_branches:
        raise typer.BadParameter(
            "pass --branch NAME or --all-branches, not both", param_hint="--branch"
        )
    from predscope.formats.json_text import write_json_array
    from predscope.services.exports.listing import iter_listing, listing_lines
    from predscope.services.exports.listing_json import iter_listing_json

    with cli_store(store) as st:
        record = get_project(st, project)
        # Streams: each row is written as soon as it is listed. A bad project, branch or option
        # fails before the first; a row failing later ends the output (``fail_streamed``).
        if as_json:  # plain rows come as their text, the others as listings
            items = iter_listing_json(st, record, branch_name=branch, all_branches=all_branches)
        else:
            rows = iter_listing(st, record, branch_name=branch, all_branches=all_branches)
        out = StreamedOutput(sys.stdout.write)
        try:
            if as_json:
                write_json_array(items, out.write)
                out.write("\n")
                return
            for row in rows:
                out.write("\n".join(listing_lines([row])) + "\n")
        except PredscopeError as exc:
            fail_streamed(exc, out, as_json)


def register(app: typer.Typer) -> None:
    app.command("labels")(labels)
