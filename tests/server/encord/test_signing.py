"""The verifier's refusals that need no SDK: malformed, missing and unsupported headers."""

from __future__ import annotations

import base64
import hashlib

import pytest

from predscope.exceptions import SignatureError
from predscope.server.encord.signing import Bearer, authenticate

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
