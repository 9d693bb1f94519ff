"""Fresh Ed25519 key pairs in OpenSSH form, as ``ssh-keygen -t ed25519`` writes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class KeyPair:
    private_path: Path  # OpenSSH private key file, what the SDK is given
    public_path: Path  # the ``.pub`` file, what ``predscope keys add`` is given
    public_line: str
    key_hex: str  # the raw 32 public bytes in hex: Encord's key id


def make_key_pair(folder: Path, name: str = "id_ed25519") -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key()
    line = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode("ascii")
    private_path = folder / name
    private_path.write_bytes(private)
    private_path.chmod(0o600)
    public_path = folder / f"{name}.pub"
    public_path.write_text(f"{line} test@predscope\n", encoding="ascii")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair(private_path, public_path, line, raw.hex())
