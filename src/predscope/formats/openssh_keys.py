"""OpenSSH Ed25519 public keys (``ssh-ed25519 AAAA... comment``, what ``ssh-keygen`` writes to
``id_ed25519.pub``) reduced to the id Encord's SDK signs with: the hex of the raw 32 key bytes.

Parsed by hand (a few length-prefixed fields) so a damaged file gets an error naming it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from predscope.exceptions import InvalidArgumentsError


def public_key_hex(openssh_line: str, *, source: str = "the public key") -> str:
    """The key id Encord's SDK signs with: hex of the raw 32 bytes of an OpenSSH Ed25519 key.

    ``ssh-keygen -t ed25519`` writes such a line to ``id_ed25519.pub``.
    """
    parts = openssh_line.strip().split()
    if len(parts) < 2 or parts[0] != "ssh-ed25519":
        kind = parts[0] if parts else "nothing"
        raise InvalidArgumentsError(
            f"{source}: expected an OpenSSH Ed25519 public key ('ssh-ed25519 AAAA... comment'), "
            f"found {kind!r}; make one with `ssh-keygen -t ed25519` and pass the .pub file"
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise InvalidArgumentsError(
            f"{source}: the key's base64 part is not valid base64"
        ) from None
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob) and len(fields) < 3:
        if offset + 4 > len(blob):
            break
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        fields.append(blob[offset + 4 : offset + 4 + length])
        offset += 4 + length
    if (
        offset != len(blob)
        or len(fields) != 2
        or fields[0] != b"ssh-ed25519"
        or len(fields[1]) != 32
    ):
        raise InvalidArgumentsError(
            f"{source}: the key's blob is not an ssh-ed25519 key of 32 bytes (damaged or "
            "truncated file?)"
        )
    return fields[1].hex()


def fingerprint(key_hex: str) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it, from the key id ``public_key_hex`` made."""
    raw = bytes.fromhex(key_hex)
    kind = b"ssh-ed25519"
    blob = struct.pack(">I", len(kind)) + kind + struct.pack(">I", len(raw)) + raw
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"
