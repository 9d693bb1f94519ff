"""Registering the Ed25519 keys Encord's SDK signs with, and what each key's user may see.

``predscope keys add|list|remove`` and the Encord-compatible server share these functions: the
server asks :func:`key_access` who signed a request and which projects that user was granted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.formats.openssh_keys import fingerprint, public_key_hex
from predscope.store import encord_keys as repo
from predscope.store.engine import Store
from predscope.store.projects import get_project, list_projects

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MIN_PREFIX = 8


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One registered key as listings show it."""

    key_hex: str
    fingerprint: str
    user_email: str
    comment: str
    created_at: datetime
    projects: tuple[str, ...]  # titles of the projects the key's user was granted


@dataclass(frozen=True, slots=True)
class KeyAccess:
    """Who a verified key belongs to and the store ids of the projects they may use."""

    user_email: str
    project_ids: frozenset[int]


def _info(record: repo.KeyRecord, titles: Sequence[str]) -> KeyInfo:
    parts = record.public_key.split(maxsplit=2)
    comment = parts[2] if len(parts) > 2 else ""
    return KeyInfo(
        key_hex=record.key_hex,
        fingerprint=fingerprint(record.key_hex),
        user_email=record.user_email,
        comment=comment,
        created_at=record.created_at,
        projects=tuple(titles),
    )


def _check_email(email: str) -> str:
    cleaned = email.strip()
    if not _EMAIL.fullmatch(cleaned):
        raise InvalidArgumentsError(
            f"--user {email!r}: not an e-mail address; the SDK shows it as the author "
            "(createdBy) of what the key saves"
        )
    return cleaned.lower()


def _titles(store: Store) -> dict[str, list[str]]:
    with store.read() as conn:
        by_hash = {p.project_hash: p.title for p in list_projects(conn)}
        granted = repo.granted_project_hashes(conn)
    return {email: [by_hash[h] for h in hashes] for email, hashes in granted.items()}


def add_key(
    store: Store,
    public_key: str,
    *,
    user_email: str,
    projects: Sequence[str] = (),
    source: str = "the public key",
) -> KeyInfo:
    """Register an OpenSSH Ed25519 public key for a user and grant the user projects (by hash
    or title), in one transaction: an unknown project means nothing is registered."""
    key_hex = public_key_hex(public_key, source=source)
    email = _check_email(user_email)
    line = " ".join(public_key.strip().split())
    with store.begin() as conn:
        ids = [get_project(conn, p).id for p in projects]
        record = repo.add_key(conn, key_hex, email, line)
        repo.grant_projects(conn, email, ids)
    return _info(record, _titles(store).get(email, []))


def list_keys(store: Store) -> list[KeyInfo]:
    with store.read() as conn:
        records = repo.list_keys(conn)
    titles = _titles(store)
    return [_info(r, titles.get(r.user_email, [])) for r in records]


def resolve_key(store: Store, which: str) -> str:
    """The key id named by its hex (or a unique prefix of 8+ digits), its ``SHA256:``
    fingerprint, or its OpenSSH public-key line."""
    text = which.strip()
    if text.startswith("ssh-"):
        return public_key_hex(text)
    keys = [r.key_hex for r in list_keys(store)]
    if text.startswith("SHA256:"):
        found = [k for k in keys if fingerprint(k) == text]
    elif len(text) >= _MIN_PREFIX and re.fullmatch(r"[0-9a-fA-F]+", text):
        found = [k for k in keys if k.startswith(text.lower())]
    else:
        raise InvalidArgumentsError(
            f"key {which!r}: name a key by its .pub file, its SHA256: fingerprint or at least "
            f"{_MIN_PREFIX} hex digits of its id (predscope keys list shows both)"
        )
    if len(found) > 1:
        raise InvalidArgumentsError(f"key {which!r}: matches {len(found)} keys; give more digits")
    if not found:
        raise ResourceNotFoundError(
            f"key {which!r}: no registered key matches - `predscope keys list` shows the keys"
        )
    return found[0]


def remove_key(store: Store, key_hex: str) -> KeyInfo:
    """Forget one key (its user's grants stay for their other keys)."""
    titles = _titles(store)
    with store.begin() as conn:
        record = repo.remove_key(conn, key_hex)
    return _info(record, titles.get(record.user_email, []))


def key_access(store: Store, key_hex: str) -> KeyAccess | None:
    """The user behind a key and their granted projects; None for an unknown key."""
    with store.read() as conn:
        record = repo.find_key(conn, key_hex)
        if record is None:
            return None
        ids = repo.granted_project_ids(conn, record.user_email)
    return KeyAccess(record.user_email, frozenset(ids))


def token_access(store: Store, token: str) -> KeyAccess | None:
    """A predscope API token (``predscope token create``) used as Encord's bearer token: it
    already opens every project through predscope's own API, so it does here too; labels it
    writes are attributed to ``token:<name>``."""
    from predscope.services.tokens import check_token

    record = check_token(store, token)
    if record is None:
        return None
    with store.read() as conn:
        ids = frozenset(p.id for p in list_projects(conn))
    return KeyAccess(f"token:{record.name}", ids)
