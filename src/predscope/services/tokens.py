"""API tokens: made once, shown once, kept as digests (``predscope token``, ``predscope serve``).

Example:
    >>> token = new_token_text()
    >>> token.startswith(TOKEN_PREFIX) and len(token) > 40
    True
"""

from __future__ import annotations

import hashlib
import secrets

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.store import tokens as token_repo
from predscope.store.engine import Store
from predscope.store.tokens import TokenRecord

TOKEN_PREFIX = "psk_"
_SHOWN = 10  # characters of a token kept in clear, to tell tokens apart in a listing


def new_token_text() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, name: str = "") -> tuple[str, TokenRecord]:
    """A new token and its record; the token itself is not stored and cannot be shown again."""
    name = name.strip() or "token"
    if len(name) > 200:
        raise InvalidArgumentsError("token name: at most 200 characters - pick a shorter name")
    token = new_token_text()
    with store.begin() as conn:
        record = token_repo.add_token(conn, name, token[:_SHOWN], digest(token))
    return token, record


def list_tokens(store: Store) -> list[TokenRecord]:
    with store.read() as conn:
        return token_repo.list_tokens(conn)


def has_tokens(store: Store) -> bool:
    with store.read() as conn:
        return token_repo.count_tokens(conn) > 0


def check_token(store: Store, token: str) -> TokenRecord | None:
    """The record of a valid token, else None (the digest lookup is the comparison)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.read() as conn:
        return token_repo.find_token(conn, digest(token))


def revoke_token(store: Store, token_id_or_prefix: str) -> int:
    with store.begin() as conn:
        removed = token_repo.delete_token(conn, token_id_or_prefix)
    if not removed:
        raise ResourceNotFoundError(
            f"token {token_id_or_prefix!r}: no token has this id or prefix - "
            "`predscope token list` shows them"
        )
    return removed
