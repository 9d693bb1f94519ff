"""``predscope sync encord PROJECT_HASH --key FILE``: bring a project over from an Encord server
(or another ``predscope serve``) and keep it in step; the work is ``services.sync``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from predscope.cli.common import JsonOption, StoreOption, cli_store, console, print_json
from predscope.cli.progress import show_progress, terminal_progress
from predscope.exceptions import InvalidArgumentsError
from predscope.services.sync.source import ENCORD_DOMAIN

sync_app = typer.Typer(
    help="Copy a project from another server into the store, and keep it in step.",
    no_args_is_help=True,
)


def _read_private_key(path: Path) -> str:
    try:
        text = path.expanduser().read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentsError(f"{path}: cannot read the private key ({exc})") from None
    if "PRIVATE KEY" not in text:
        raise InvalidArgumentsError(
            f"{path}: not a private key - pass the OpenSSH private key file (id_ed25519, not the "
            ".pub next to it) whose public half is registered at the source"
        )
    return text


@sync_app.command("encord")
def sync_encord_command(
    project_hash: Annotated[str, typer.Argument(help="The source project's hash.")],
    key: Annotated[
        Path, typer.Option("--key", help="OpenSSH Ed25519 private key the source accepts.")
    ],
    domain: Annotated[
        str, typer.Option("--domain", help="The source server's API address.")
    ] = ENCORD_DOMAIN,
    into: Annotated[
        str | None,
        typer.Option("--into", help="Title of the local project (default: the source's title)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
    download_media: Annotated[
        bool,
        typer.Option(
            "--download-media", help="Download the media of new data units (http(s) links)."
        ),
    ] = False,
    media_dir: Annotated[
        Path | None,
        typer.Option(
            "--media-dir",
            help="Folder for --download-media (default: media/<project hash> in a folder store).",
        ),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sync an Encord project (ontology, data units, every branch's label rows) into the store.

    Run again, it fetches only the rows edited at the source since the last sync, and never
    touches a branch that exists only here.
    """
    from predscope.services.sync.encord import sync_encord
    from predscope.services.sync.media import default_media_dir

    text = _read_private_key(key)
    if media_dir is not None and not download_media:
        raise InvalidArgumentsError("sync encord: --media-dir is for --download-media - add it")
    with cli_store(store) as st, terminal_progress(show_progress(as_json)) as progress:
        folder = None
        if download_media:
            folder = (
                media_dir.expanduser() if media_dir else default_media_dir(st.url, project_hash)
            )
        report = sync_encord(
            st,
            project_hash,
            text,
            domain=domain,
            into=into,
            dry_run=dry_run,
            media_dir=folder,
            progress=progress,
        )
    if as_json:
        print_json(report.to_dict())
        return
    verb = "would fetch" if dry_run else "fetched"
    kind = "first sync" if report.first_sync else "sync"
    console.print(
        f"{kind} of {report.source} into {report.project!r}: {verb} {report.rows_fetched} "
        f"label rows ({report.objects} objects, {report.classifications} classifications), "
        f"{report.rows_unchanged} unchanged; branches: {', '.join(report.branches) or 'none'}"
    )
    if report.data_units_added:
        console.print(f"  {report.data_units_added} data units added")
    if report.ontology_updated:
        console.print("  the ontology changed at the source and was updated")
    if report.gone_at_source:
        console.print(f"  {len(report.gone_at_source)} rows are no longer at the source; kept here")
    if report.media_folder:
        console.print(f"  {report.media_downloaded} media files in {report.media_folder}")
    for link in report.media_not_downloaded:
        console.print(f"  not downloaded: {link}")
    for unit in report.skipped_units:
        console.print(f"  not synced: {unit}")


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
