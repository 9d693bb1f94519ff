"""Sub-command groups shared by several command modules (``predscope import coco``, ``... encord``).

Format modules add their commands to these groups; ``app.py`` mounts the groups once.
"""

from __future__ import annotations

import typer

import_app = typer.Typer(
    help="Import labels or predictions into a project branch.", no_args_is_help=True
)
export_app = typer.Typer(help="Export a branch's labels to a file.", no_args_is_help=True)
project_app = typer.Typer(help="Create, list and show projects.", no_args_is_help=True)
data_app = typer.Typer(
    help="Register media (images, videos, audio) as data units.", no_args_is_help=True
)
ontology_app = typer.Typer(help="Inspect a project's ontology.", no_args_is_help=True)

GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("project", project_app),
    ("data", data_app),
    ("ontology", ontology_app),
    ("import", import_app),
    ("export", export_app),
)
