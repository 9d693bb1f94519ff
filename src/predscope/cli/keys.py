"""``predscope keys add|list|remove``: the Ed25519 keys Encord's SDK may sign with against
``predscope serve``, each tied to a user and the projects that user may see."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from predscope.cli.common import JsonOption, StoreOption, cli_store, console, print_json
from predscope.exceptions import InvalidArgumentsError

if TYPE_CHECKING:
    from predscope.services.encord_keys import KeyInfo

keys_app = typer.Typer(
    help="Ed25519 keys that Encord SDK scripts sign with, and the projects they may use.",
    no_args_is_help=True,
)


def _read_public_key(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentsError(f"{path}: cannot read the public key ({exc})") from None
    if "PRIVATE KEY" in text:
        raise InvalidArgumentsError(
            f"{path}: this is a private key - pass the public one (the .pub file next to it); "
            "the private key never leaves the machine that signs"
        )
    return text


def _key_dict(info: KeyInfo) -> dict[str, Any]:
    return {
        "key_id": info.key_hex,
        "fingerprint": info.fingerprint,
        "user": info.user_email,
        "comment": info.comment,
        "created_at": info.created_at,
        "projects": list(info.projects),
    }


@keys_app.command("add")
def keys_add(
    public_key_file: Annotated[
        Path, typer.Argument(help="OpenSSH Ed25519 public key (id_ed25519.pub).")
    ],
    user: Annotated[str, typer.Option("--user", help="The key owner's e-mail address.")],
    project: Annotated[
        list[str] | None,
        typer.Option("--project", help="Grant the user this project (hash or title); repeat."),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a public key for a user and grant the user projects."""
    from predscope.services.encord_keys import add_key

    text = _read_public_key(public_key_file)
    with cli_store(store) as st:
        info = add_key(
            st, text, user_email=user, projects=project or [], source=str(public_key_file)
        )
    if as_json:
        print_json(_key_dict(info))
        return
    granted = ", ".join(repr(t) for t in info.projects) or "none yet (add --project)"
    console.print(f"Registered {info.fingerprint} for {info.user_email}; projects: {granted}")


@keys_app.command("list")
def keys_list(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """List registered keys with their users and granted projects."""
    from predscope.services.encord_keys import list_keys

    with cli_store(store) as st:
        infos = list_keys(st)
    if as_json:
        print_json([_key_dict(i) for i in infos])
        return
    if not infos:
        console.print("No keys yet: register one with `predscope keys add KEY.pub --user EMAIL`.")
        return
    table = Table("user")
    table.add_column("fingerprint", overflow="fold")
    table.add_column("comment")
    table.add_column("projects")
    for i in infos:
        table.add_row(i.user_email, i.fingerprint, i.comment, ", ".join(i.projects) or "-")
    console.print(table)


@keys_app.command("remove")
def keys_remove(
    key: Annotated[
        str,
        typer.Argument(help="The .pub file, the SHA256: fingerprint or 8+ hex digits of the id."),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Forget a key: requests signed with it are refused from then on."""
    from predscope.services.encord_keys import remove_key, resolve_key

    path = Path(key)
    which = _read_public_key(path) if path.is_file() else key
    with cli_store(store) as st:
        key_hex = resolve_key(st, which)
        if not yes:
            question = f"Remove key {key_hex[:16]}...? Requests signed with it will be refused"
            typer.confirm(question, abort=True)
        info = remove_key(st, key_hex)
    if as_json:
        print_json(_key_dict(info))
        return
    console.print(f"Removed {info.fingerprint} ({info.user_email})")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
