"""The verifier's refusals that need no SDK: malformed, missing and unsupported headers, and the
OpenSSH public-key parser (checked against ssh-keygen's own output)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from predscope.exceptions import InvalidArgumentsError, SignatureError
from predscope.server.encord.signing import Bearer, authenticate, public_key_hex
from tests.server.encord.keys import make_key_pair

KEY = "ab" * 32
EMPTY_DIGEST = "sha-256=:" + base64.b64encode(hashlib.sha256(b"").digest()).decode() + ":"


def _v2(headers: dict[str, str], *, body: bytes = b"", now: float = 1000.0) -> None:
    authenticate("v2", method="GET", target="/v2/public/x", headers=headers, body=body, now=now)


def _reason(headers: dict[str, str], **kwargs: object) -> str:
    with pytest.raises(SignatureError) as caught:
        _v2(headers, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def _sig_input(
    components: str = '"@method" "@request-target" "content-digest"', **params: str
) -> str:
    values = {"created": "1000", "keyid": f'"{KEY}"', "alg": '"ed25519"', **params}
    return f"encord-sig=({components})" + "".join(f";{k}={v}" for k, v in values.items() if v)


def _headers(**overrides: str) -> dict[str, str]:
    headers = {
        "Content-Digest": EMPTY_DIGEST,
        "Signature-Input": _sig_input(),
        "Signature": "encord-sig=:" + base64.b64encode(b"\0" * 64).decode() + ":",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v}


def test_well_formed_but_wrong_signature_fails_at_the_signature() -> None:
    assert _reason(_headers()) == "signature"


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("Content-Digest", "", "missing"),
        ("Content-Digest", "sha-512=:AAAA:", "malformed"),
        ("Content-Digest", "sha-256=:not base64!:", "malformed"),
        ("Signature-Input", "", "missing"),
        ("Signature-Input", "other-sig=()", "malformed"),
        ("Signature-Input", 'encord-sig=("@method" "content-digest");created=1000', "malformed"),
        ("Signature", "", "missing"),
        ("Signature", "encord-sig=AAAA", "malformed"),
    ],
)
def test_missing_or_malformed_v2_headers(header: str, value: str, reason: str) -> None:
    assert _reason(_headers(**{header: value})) == reason


@pytest.mark.parametrize(
    "sig_input",
    [
        _sig_input(keyid='"xyz"'),  # not a hex key
        _sig_input(alg='"rsa-v1_5-sha256"'),
        _sig_input(created=""),  # no created
        _sig_input(created='"soon"'),
        _sig_input('"@method" "@request-target" "content-digest" "@authority"'),
        _sig_input() + ";junk",
    ],
)
def test_unsupported_signature_parameters(sig_input: str) -> None:
    assert _reason(_headers(**{"Signature-Input": sig_input})) == "malformed"


def test_body_is_checked_against_the_digest_first() -> None:
    assert _reason(_headers(), body=b"{}") == "digest"


def test_freshness_window() -> None:
    assert _reason(_headers(), now=1000 + 301) == "stale"
    assert _reason(_headers(), now=1000 - 61) == "stale"
    assert _reason(_headers(), now=1000 + 299) == "signature"  # inside the window


@pytest.mark.parametrize(
    "auth", ["", "abc", f"{KEY}:{'00' * 63}", f"{KEY}{'00' * 64}", "Bearer ", "Basic dXNlcg=="]
)
def test_v1_refuses_malformed_authorization(auth: str) -> None:
    headers = {"Authorization": auth} if auth else {}
    with pytest.raises(SignatureError) as caught:
        authenticate("v1", method="POST", target="/public", headers=headers, body=b"{}", now=0)
    assert caught.value.reason in {"missing", "malformed"}


def test_bearer_is_case_insensitive_and_header_names_too() -> None:
    headers = {"authorization": "bearer tok"}
    got = authenticate("v1", method="POST", target="/public", headers=headers, body=b"", now=0)
    assert got == Bearer("tok")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_public_key_hex_of_an_ssh_keygen_key(tmp_path: Path) -> None:
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@x", "-f", str(key)],
                   check=True)  # fmt: skip
    line = (tmp_path / "id.pub").read_text()
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_ssh_private_key(key.read_bytes(), None)
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert public_key_hex(line) == raw.hex()


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
