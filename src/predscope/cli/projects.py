"""``predscope project create|list|show``, ``data add``, ``ontology show`` and ``branches``.

Thin commands over ``services.projects`` and the store: each prints a human table by default and
the same content as JSON with ``--json``, so scripts and people read one source of truth.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from predscope.cli.arguments import ProjectArgument
from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    print_json,
)
from predscope.cli.groups import data_app, ontology_app, project_app
from predscope.cli.progress import show_progress, terminal_progress
from predscope.exceptions import ImportFormatError

if TYPE_CHECKING:
    from predscope.store.engine import Store
    from predscope.store.records import DataUnitRecord, ProjectRecord

# -- plain data shared by text and JSON output ----------------------------------------------


def project_summary(store: Store, project: ProjectRecord) -> dict[str, Any]:
    """Counts and branches of a project (what ``project show`` prints)."""
    from predscope.store.data_units import list_data_units
    from predscope.store.label_rows import list_branches, list_row_metadata

    with store.read() as conn:
        units = list_data_units(conn, project.id)
        branches = list_branches(conn, project.id)
        rows = list_row_metadata(conn, project.id, branch_name=None, include_all_branches=True)
    per_branch: dict[str, dict[str, int]] = {
        b: {"rows": 0, "objects": 0, "classifications": 0} for b in branches
    }
    for row in rows:
        if row.label_hash is None:
            continue
        counts = per_branch.setdefault(
            row.branch_name, {"rows": 0, "objects": 0, "classifications": 0}
        )
        counts["rows"] += 1
        counts["objects"] += row.object_count
        counts["classifications"] += row.classification_count
    ontology = project.ontology
    return {
        "project_hash": project.project_hash,
        "title": project.title,
        "description": project.description,
        "created_at": project.created_at,
        "last_edited_at": project.last_edited_at,
        "data_units": len(units),
        "data_types": _count_by(u.data_type for u in units),
        "ontology": {
            "objects": len(ontology.get("objects") or []),
            "classifications": len(ontology.get("classifications") or []),
        },
        "branches": [{"name": name, **counts} for name, counts in per_branch.items()],
    }


def _load_summary(store: str | None, project: str) -> tuple[ProjectRecord, dict[str, Any]]:
    """The project named on the command line and its ``project_summary``, from one session."""
    from predscope.services.projects import get_project

    with cli_store(store) as st:
        record = get_project(st, project)
        return record, project_summary(st, record)


def _count_by(values: Iterator[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def unit_dict(unit: DataUnitRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "data_hash": unit.data_hash,
        "data_title": unit.data_title,
        "data_type": unit.data_type,
        "data_link": unit.data_link,
        "width": unit.width,
        "height": unit.height,
    }
    if unit.number_of_frames is not None:
        out["number_of_frames"] = unit.number_of_frames
    if unit.duration is not None:
        out["duration"] = unit.duration
    if unit.images:
        out["images"] = [
            {"image_hash": i.image_hash, "title": i.title, "width": i.width, "height": i.height}
            for i in unit.images
        ]
    return out


def ontology_rows(ontology: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat line per ontology element, indented by depth (for ``ontology show``)."""
    lines: list[dict[str, Any]] = []

    def attributes(attrs: list[dict[str, Any]], depth: int) -> None:
        for attr in attrs:
            lines.append(
                {
                    "depth": depth,
                    "kind": f"attribute ({attr.get('type')})",
                    "title": attr.get("name"),
                    "feature_hash": attr.get("featureNodeHash"),
                    "uid": attr.get("id"),
                    "detail": "dynamic" if attr.get("dynamic") else "",
                }
            )
            for option in attr.get("options") or []:
                lines.append(
                    {
                        "depth": depth + 1,
                        "kind": "option",
                        "title": option.get("label"),
                        "feature_hash": option.get("featureNodeHash"),
                        "uid": option.get("id"),
                        "detail": "",
                    }
                )
                attributes(option.get("options") or [], depth + 2)

    for obj in ontology.get("objects") or []:
        lines.append(
            {
                "depth": 0,
                "kind": f"object ({obj.get('shape')})",
                "title": obj.get("name"),
                "feature_hash": obj.get("featureNodeHash"),
                "uid": obj.get("id"),
                "detail": obj.get("color") or "",
            }
        )
        attributes(obj.get("attributes") or [], 1)
    for cls in ontology.get("classifications") or []:
        attrs = cls.get("attributes") or []
        lines.append(
            {
                "depth": 0,
                "kind": "classification",
                "title": attrs[0].get("name") if attrs else "",
                "feature_hash": cls.get("featureNodeHash"),
                "uid": cls.get("id"),
                "detail": cls.get("level") or "",
            }
        )
        attributes(attrs, 1)
    return lines


def read_ontology_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(str(path), "", f"cannot read the ontology ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            str(path), f"line {exc.lineno}, column {exc.colno}", f"malformed JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ImportFormatError(str(path), "", "an ontology must be a JSON object")
    # Encord's ontology export wraps the structure as {"editor": {...}}.
    for key in ("editor", "editorOntology", "structure"):
        if isinstance(data.get(key), dict) and "objects" not in data:
            return dict(data[key])
    return data


# -- commands --------------------------------------------------------------------------------


@project_app.command("create")
def project_create(
    title: Annotated[str, typer.Argument(help="Project title (unique in the store).")],
    ontology: Annotated[
        Path | None, typer.Option("--ontology", help="Encord ontology JSON file.", exists=True)
    ] = None,
    from_coco: Annotated[
        Path | None,
        typer.Option(
            "--from-coco",
            help="COCO dataset file (instances_*.json): ontology, images and ground truth from it.",
        ),
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option("--images", help="With --from-coco: the folder of the dataset's images."),
    ] = None,
    shape: Annotated[
        str,
        typer.Option(
            "--shape",
            help="With --from-coco: auto (from the annotations), bounding_box, polygon or bitmask.",
        ),
    ] = "auto",
    description: Annotated[str, typer.Option("--description", help="Free text.")] = "",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a project with an Encord ontology, or from a COCO dataset file (--from-coco)."""
    from predscope.services.projects import create_project

    if (ontology is None) == (from_coco is None):
        raise typer.BadParameter(
            "give either --ontology (an Encord ontology file) or --from-coco (a COCO dataset)"
        )
    if from_coco is not None:
        _create_from_coco(title, from_coco, images, shape, description, store, as_json)
        return
    if images is not None or shape != "auto":
        raise typer.BadParameter("--images and --shape go with --from-coco")
    assert ontology is not None
    structure = read_ontology_file(ontology)
    with cli_store(store) as st:
        record = create_project(st, title, structure, description=description)
    if as_json:
        print_json({"project_hash": record.project_hash, "title": record.title})
        return
    console.print(f"Created project {record.title!r} ({record.project_hash})")


def _create_from_coco(
    title: str,
    instances: Path,
    images: Path | None,
    shape: str,
    description: str,
    store: str | None,
    as_json: bool,
) -> None:
    from predscope.services import history
    from predscope.services.imports.onboard import create_project_from_coco

    with cli_store(store) as st, terminal_progress(show_progress(as_json)) as progress:
        report = create_project_from_coco(
            st,
            title,
            instances,
            images=images,
            description=description,
            shape=shape,
            progress=progress,
            origin=history.CLI,
        )
    if as_json:
        print_json(report.to_dict())
        return
    record = report.project
    console.print(f"Created project {record.title!r} ({record.project_hash}) from {instances}")
    shapes = _count_by(iter(s for _, s in report.objects))
    kinds = ", ".join(f"{n} {s}" for s, n in shapes.items())
    console.print(f"Ontology: {len(report.objects)} objects ({kinds})")
    pixels = f"{report.with_pixels} with pixels" if images is not None else "by name and size"
    console.print(f"Data units: {report.data_units} ({pixels})")
    if report.missing_files:
        shown = ", ".join(report.missing_files[:5])
        more = f" and {len(report.missing_files) - 5} more" if len(report.missing_files) > 5 else ""
        console.print(
            f"[yellow]{len(report.missing_files)} image(s) not found under {images}[/yellow]: "
            f"{shown}{more} (registered by name and size)"
        )
    gt = report.ground_truth
    if gt is None:
        console.print("Ground truth: the file holds no annotations")
    else:
        console.print(
            f"Ground truth on 'main': {gt.objects} objects in {gt.rows} rows "
            f"({report.seconds:.2f} s)"
        )
    console.print(f"Next: predscope import coco {record.title} RESULTS.json --branch NAME")


@project_app.command("list")
def project_list(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """List the store's projects."""
    from predscope.services.projects import list_projects

    with cli_store(store) as st:
        records = list_projects(st)
        summaries = [project_summary(st, r) for r in records]
    if as_json:
        print_json(summaries)
        return
    if not summaries:
        console.print("No projects yet: create one with `predscope project create`.")
        return
    table = Table("title", "data units", "branches")
    table.add_column("project hash", overflow="fold")
    for s in summaries:
        branches = ", ".join(b["name"] for b in s["branches"]) or "-"
        table.add_row(s["title"], str(s["data_units"]), branches, s["project_hash"])
    console.print(table)


@project_app.command("show")
def project_show(
    project: ProjectArgument,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one project: data units, ontology size and rows per branch."""
    _, summary = _load_summary(store, project)
    if as_json:
        print_json(summary)
        return
    console.print(f"Project: {summary['title']} ({summary['project_hash']})")
    if summary["description"]:
        console.print(f"Description: {summary['description']}")
    types = ", ".join(f"{n} {t}" for t, n in summary["data_types"].items())
    console.print(f"Data units: {summary['data_units']}" + (f" ({types})" if types else ""))
    onto = summary["ontology"]
    console.print(f"Ontology: {onto['objects']} objects, {onto['classifications']} classifications")
    if not summary["branches"]:
        console.print("Branches: none yet")
        return
    table = Table("branch", "rows", "objects", "classifications")
    for b in summary["branches"]:
        table.add_row(b["name"], str(b["rows"]), str(b["objects"]), str(b["classifications"]))
    console.print(table)


TitleFromOption = Annotated[
    str,
    typer.Option(
        "--title-from",
        help="Titles of files found in folders: 'relative' (cam1/0001.png) or 'name' (0001.png).",
    ),
]


@data_app.command("add")
def data_add(
    project: ProjectArgument,
    paths: Annotated[list[Path], typer.Argument(help="Media files or folders (searched deeply).")],
    title_from: TitleFromOption = "relative",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register media files as data units (they stay where they are); re-adding skips them."""
    from predscope.services.projects import add_data, get_project

    with cli_store(store) as st, terminal_progress(show_progress(as_json)) as progress:
        record = get_project(st, project)
        report = add_data(st, record, paths, title_from=title_from, progress=progress, origin="cli")
    if as_json:
        skipped_items = report.to_dict()["skipped_items"]
        print_json({"added": [unit_dict(u) for u in report.added], "skipped": skipped_items})
        return
    if report.added:
        table = Table("title", "type", "width", "height")
        table.add_column("data hash", overflow="fold")
        for u in report.added:
            table.add_row(u.data_title, u.data_type, str(u.width), str(u.height), u.data_hash)
        console.print(table)
    skipped = f", skipped {len(report.skipped)} already registered" if report.skipped else ""
    console.print(f"Added {len(report.added)} data unit(s) to {record.title!r}{skipped}")


@ontology_app.command("show")
def ontology_show(
    project: ProjectArgument,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a project's ontology: objects, classifications, attributes and options."""
    from predscope.services.projects import get_project

    with cli_store(store) as st:
        record = get_project(st, project)
    if as_json:
        print_json(record.ontology)
        return
    console.print(f"Ontology of {record.title!r}")
    for line in ontology_rows(record.ontology):
        indent = "  " * int(line["depth"])
        detail = f" {line['detail']}" if line["detail"] else ""
        console.print(
            f"{indent}{line['kind']}: {line['title']}  featureNodeHash={line['feature_hash']}"
            f" uid={line['uid']}{detail}",
            markup=False,
        )


def branches(
    project: ProjectArgument,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a project's branches (main first) with their row and label counts."""
    record, summary = _load_summary(store, project)
    if as_json:
        print_json(summary["branches"])
        return
    if not summary["branches"]:
        console.print(f"{record.title!r} has no label rows on any branch yet.")
        return
    table = Table("branch", "rows", "objects", "classifications", "kind")
    for b in summary["branches"]:
        kind = (
            "ground truth"
            if b["name"] == "main"
            else ("consensus" if b["name"].startswith("encord-") else "prediction")
        )
        table.add_row(b["name"], str(b["rows"]), str(b["objects"]), str(b["classifications"]), kind)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Group commands register on import (cli/groups.py); ``branches`` and ``history`` (and the
    removal commands) live in ``cli.manage``."""
    from predscope.cli import manage

    manage.register(app)
