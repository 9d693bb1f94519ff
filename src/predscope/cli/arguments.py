"""Argument and option types that several commands declare the same way.

One definition per flag keeps the name, help text and default identical across commands; the
help of flags whose wording depends on the input (one file or a folder) is built by a factory.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

ProjectArgument = Annotated[str, typer.Argument(help="Project hash or title.")]

BranchOption = Annotated[
    str | None,
    typer.Option("--branch", help="Target branch (default: main with --ground-truth)."),
]
UnknownCategoryOption = Annotated[str, typer.Option("--on-unknown-category", help="error or skip.")]
UnknownImageOption = Annotated[str, typer.Option("--on-unknown-image", help="error or skip.")]


def ground_truth_option(subject: str) -> Any:
    """``--ground-truth``; ``subject`` is "The file is" or "The files are"."""
    return typer.Option("--ground-truth", help=f"{subject} ground truth (confidence 1).")


def dry_run_option(steps: str) -> Any:
    """``--dry-run``; ``steps`` names what still happens (e.g. "Match and report")."""
    return typer.Option("--dry-run", help=f"{steps}; write nothing.")


def replace_option(whose: str) -> Any:
    """``--replace``; ``whose`` is "this file's" or "these files'"."""
    return typer.Option("--replace", help=f"Swap the branch's labels for {whose}.")


def append_option(whose: str) -> Any:
    """``--append``; ``whose`` is "this file's" or "these files'"."""
    return typer.Option("--append", help=f"Add {whose} labels to those already on the branch.")


def map_option(flag: str, meaning: str) -> Any:
    """``--image-map`` / ``--category-map``: a JSON or CSV file of ``meaning`` pairs."""
    return typer.Option(flag, help=f"JSON/CSV: {meaning}.")
