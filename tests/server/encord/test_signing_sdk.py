"""predscope's verifier against requests signed by the real ``encord`` SDK at every pinned
version, captured on the wire, then tampered with: changed body, path, method, key, time."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from predscope.exceptions import SignatureError
from predscope.server.encord.signing import Bearer, SignedKey, authenticate
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.recorder import Recorded, recording_server
from tests.server.encord.sdk_envs import SdkEnv

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "sdk_scripts" / "send_signed_requests.py"
PROJECT = "6c1f0b8e-2d4a-4f59-9a57-0d6f3d3b7e21"
TOKEN = "ps-test-token-9f8e7d"


@dataclass(frozen=True)
class Capture:
    version: str
    key: KeyPair
    other_key: KeyPair
    requests: list[Recorded]
    sent_at: float

    def one(self, method: str, path_prefix: str, *, auth_prefix: str | None = None) -> Recorded:
        found = [
            r
            for r in self.requests
            if r.method == method
            and r.target.startswith(path_prefix)
            and (auth_prefix is None or _h(r, "Authorization").startswith(auth_prefix))
        ]
        assert found, (
            f"no {method} {path_prefix} among {[(r.method, r.target) for r in self.requests]}"
        )
        return found[0]


def _h(request: Recorded, name: str) -> str:
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), "")


def _with_header(request: Recorded, name: str, value: str) -> Recorded:
    headers = {k: v for k, v in request.headers.items() if k.lower() != name.lower()}
    headers[name] = value
    return replace(request, headers=headers)


@pytest.fixture(scope="session")
def capture(encord_sdk: SdkEnv, tmp_path_factory: pytest.TempPathFactory) -> Capture:
    folder = tmp_path_factory.mktemp(f"keys-{encord_sdk.version}")
    key, other = make_key_pair(folder), make_key_pair(folder, "other")
    with recording_server() as (url, recorded):
        sent_at = time.time()
        done = encord_sdk.run(SCRIPT, url, str(key.private_path), TOKEN, PROJECT, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        return Capture(encord_sdk.version, key, other, list(recorded), sent_at)


def _check(scheme: str, request: Recorded, *, now: float | None = None) -> SignedKey | Bearer:
    return authenticate(
        "v1" if scheme == "v1" else "v2",
        method=request.method,
        target=request.target,
        headers=request.headers,
        body=request.body,
        now=time.time() if now is None else now,
    )


def _refused(scheme: str, request: Recorded, reason: str, *, now: float | None = None) -> None:
    with pytest.raises(SignatureError) as caught:
        _check(scheme, request, now=now)
    assert caught.value.reason == reason, str(caught.value)


# -- v2 (REST) ------------------------------------------------------------------------------


def test_sdk_get_project_v2_signature_verifies(capture: Capture) -> None:
    request = capture.one("GET", f"/v2/public/projects/{PROJECT}", auth_prefix="")
    assert _h(request, "Signature-Input").startswith("encord-sig=")
    credential = _check("v2", request)
    assert credential == SignedKey(capture.key.key_hex, "v2", credential.created)  # type: ignore[union-attr]
    created = credential.created  # type: ignore[union-attr]
    assert created is not None
    # 0.1.150 backdates `created` by 30 s; every version must still be inside the window.
    assert capture.sent_at - 40 <= created <= time.time() + 1


def test_v2_query_string_is_signed_as_sent(capture: Capture) -> None:
    request = capture.one("GET", f"/v2/public/projects/{PROJECT}/branches")
    assert "?pageToken=" in request.target and "limit=5" in request.target
    assert _check("v2", request) == SignedKey(
        capture.key.key_hex,
        "v2",
        _check("v2", request).created,  # type: ignore[union-attr]
    )
    # The same signature does not authorise another page (the query is part of the target).
    _refused(
        "v2", replace(request, target=request.target.replace("limit=5", "limit=6")), "signature"
    )
    _refused("v2", replace(request, target=request.target.split("?")[0]), "signature")


def test_v2_body_tampering_is_refused(capture: Capture) -> None:
    request = capture.one("POST", f"/v2/public/projects/{PROJECT}/labels/copy-branch")
    assert isinstance(_check("v2", request), SignedKey)
    changed = request.body.replace(b"main", b"mains")
    _refused("v2", replace(request, body=changed), "digest")
    # A forger who also recomputes Content-Digest still fails: the digest is signed.
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(changed).digest()).decode() + ":"
    _refused(
        "v2", _with_header(replace(request, body=changed), "Content-Digest", digest), "signature"
    )


def test_v2_method_and_path_are_bound(capture: Capture) -> None:
    request = capture.one("GET", f"/v2/public/projects/{PROJECT}", auth_prefix="")
    _refused("v2", replace(request, method="DELETE"), "signature")
    other_path = request.target.replace(PROJECT, "00000000-0000-4000-8000-000000000000")
    _refused("v2", replace(request, target=other_path), "signature")


def test_v2_stale_and_future_signatures_are_refused(capture: Capture) -> None:
    request = capture.one("GET", f"/v2/public/projects/{PROJECT}", auth_prefix="")
    created = _check("v2", request).created  # type: ignore[union-attr]
    assert created is not None
    assert isinstance(_check("v2", request, now=created + 299), SignedKey)
    _refused("v2", request, "stale", now=created + 301)
    _refused("v2", request, "stale", now=created - 61)


def test_v2_wrong_key_is_refused(capture: Capture) -> None:
    request = capture.one("GET", f"/v2/public/projects/{PROJECT}", auth_prefix="")
    forged = _h(request, "Signature-Input").replace(capture.key.key_hex, capture.other_key.key_hex)
    assert forged != _h(request, "Signature-Input")
    _refused("v2", _with_header(request, "Signature-Input", forged), "signature")


def test_v2_refuses_a_v1_signature(capture: Capture) -> None:
    """A v1 signature binds only the body: accepted on v2 GETs (empty body) it would open
    every read forever. v2 endpoints demand v2 headers."""
    v1 = capture.one("POST", "/public", auth_prefix=capture.key.key_hex)
    _refused(
        "v2",
        replace(v1, method="GET", target=f"/v2/public/projects/{PROJECT}", body=b""),
        "missing",
    )


# -- v1 (legacy RPC) ------------------------------------------------------------------------


def test_sdk_v1_signature_verifies(capture: Capture) -> None:
    request = capture.one("POST", "/public", auth_prefix=capture.key.key_hex)
    assert _h(request, "ResourceID") == PROJECT and _h(request, "ResourceType") == "project"
    assert _check("v1", request) == SignedKey(capture.key.key_hex, "v1")


def test_v1_tampered_body_and_wrong_key_are_refused(capture: Capture) -> None:
    request = capture.one("POST", "/public", auth_prefix=capture.key.key_hex)
    _refused("v1", replace(request, body=request.body.replace(b"GET", b"PUT")), "signature")
    _refused("v1", replace(request, body=request.body + b" "), "signature")
    forged = _h(request, "Authorization").replace(capture.key.key_hex, capture.other_key.key_hex)
    _refused("v1", _with_header(request, "Authorization", forged), "signature")


# -- bearer ---------------------------------------------------------------------------------


def test_bearer_token_on_both_protocols(capture: Capture) -> None:
    v2 = capture.one("GET", f"/v2/public/projects/{PROJECT}", auth_prefix="Bearer")
    assert _check("v2", v2) == Bearer(TOKEN)
    v1 = capture.one("POST", "/public", auth_prefix="Bearer")
    assert _check("v1", v1) == Bearer(TOKEN)
