"""OpenSSH Ed25519 public keys to Encord key ids and fingerprints, checked against ssh-keygen."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from predscope.exceptions import InvalidArgumentsError
from predscope.formats.openssh_keys import fingerprint, public_key_hex
from tests.server.encord.keys import make_key_pair


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_public_key_hex_of_an_ssh_keygen_key(tmp_path: Path) -> None:
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@x", "-f", str(key)],
                   check=True)  # fmt: skip
    line = (tmp_path / "id.pub").read_text()
    private = serialization.load_ssh_private_key(key.read_bytes(), None)
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert public_key_hex(line) == raw.hex()
    listed = subprocess.run(["ssh-keygen", "-l", "-f", str(tmp_path / "id.pub")], check=True,
                            capture_output=True, text=True).stdout.split()  # fmt: skip
    assert fingerprint(raw.hex()) == listed[1]


def test_public_key_hex_matches_the_generated_pair(tmp_path: Path) -> None:
    pair = make_key_pair(tmp_path)
    assert public_key_hex(pair.public_path.read_text()) == pair.key_hex


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("", "found 'nothing'"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@x", "found 'ssh-rsa'"),
        ("ssh-ed25519 !!!notbase64", "not valid base64"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXf7GJa", "not an ssh-ed25519 key of 32 bytes"),
    ],
)
def test_public_key_hex_refuses_other_keys(line: str, needle: str) -> None:
    with pytest.raises(InvalidArgumentsError, match=needle) as caught:
        public_key_hex(line, source="keys/id.pub")
    assert str(caught.value).startswith("keys/id.pub: ")
