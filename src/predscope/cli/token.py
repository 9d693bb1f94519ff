"""``predscope token create|list|revoke``: bearer tokens for ``predscope serve``.

A token is printed once, when it is made; the store keeps only its SHA-256 digest.
"""

from __future__ import annotations

from typing import Annotated

import typer

from predscope.cli.common import JsonOption, StoreOption, cli_store, console, print_json

token_app = typer.Typer(help="Tokens for `predscope serve` off loopback.", no_args_is_help=True)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a token and print it once (it cannot be shown again)."""
    from predscope.services.tokens import create_token

    with cli_store(store) as opened:
        token, record = create_token(opened, name)
    if as_json:
        print_json({"token": token, "token_id": record.token_id, "name": record.name})
        return
    typer.echo(token)
    typer.echo(
        f"token {record.prefix}... ({record.name}) stored as a digest; this is the only time it "
        "is shown. Send it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@token_app.command("list")
def token_list(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """The store's tokens (their first characters only)."""
    from predscope.services.tokens import list_tokens

    with cli_store(store) as opened:
        records = list_tokens(opened)
    if as_json:
        print_json(
            [
                {
                    "token_id": r.token_id,
                    "name": r.name,
                    "prefix": r.prefix,
                    "created_at": r.created_at,
                }
                for r in records
            ]
        )
        return
    if not records:
        console.print("no tokens - `predscope token create` makes one")
    for r in records:
        console.print(f"{r.prefix}...  {r.name}  {r.created_at:%Y-%m-%d %H:%M}  {r.token_id}")


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="Token id, or the prefix `token list` shows.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    store: StoreOption = None,
) -> None:
    """Delete a token: clients using it are refused from the next request on."""
    from predscope.services.tokens import revoke_token

    if not yes:
        typer.confirm(f"Revoke token {token}?", abort=True)
    with cli_store(store) as opened:
        revoke_token(opened, token)
    console.print(f"revoked {token}")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
