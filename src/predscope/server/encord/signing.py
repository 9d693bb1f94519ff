"""Checks the credentials Encord's SDK sends: two Ed25519 signing schemes and bearer tokens.

Pure functions over (method, target, headers, body): no store, no framework, so each rule is
tested on its own against signatures made by the real SDK.

* **v1** (legacy ``POST /public``): ``Authorization: <key hex>:<signature hex>``, the signature
  being Ed25519 over SHA-256 of the raw body. It binds neither path nor time, so it is accepted
  only where the SDK uses it: a v1 signature over an empty body would otherwise open every GET.
* **v2** (``/v2/public``): a variant of HTTP Message Signatures. ``Content-Digest`` carries the
  body's SHA-256; ``Signature-Input`` lists the covered components and ``created``/``keyid``/
  ``alg``; the signed base is one ``"name": value`` line per component, then the
  ``"@signature-params"`` line holding the parameters exactly as received. ``created`` must lie
  inside a freshness window (SDK 0.1.150 backdates it by 30 s to survive clock skew).
* **Bearer**: ``Authorization: Bearer <token>`` on either protocol; the caller looks it up.

Identity is the hex of the raw 32-byte public key; whether that key is registered, and what it
may see, is decided by the caller (``formats.openssh_keys.public_key_hex`` makes the id).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from predscope.exceptions import SignatureError

Scheme = Literal["v1", "v2"]
SIGNATURE_LABEL = "encord-sig"
MAX_AGE_SECONDS = 300  # how old a v2 ``created`` may be
MAX_SKEW_SECONDS = 60  # how far in the future a client clock may run
# Every v2 signature must cover these, or it would not bind the request it authorises.
REQUIRED_COMPONENTS = ("@method", "@request-target", "content-digest")

_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_V1_AUTH = re.compile(r"([0-9a-fA-F]{64}):([0-9a-fA-F]{128})")
_BYTE_SEQUENCE = re.compile(r"([A-Za-z0-9_.*-]+)=:([A-Za-z0-9+/=]*):")
_INNER_LIST = re.compile(r'\(((?:"[^"]*"(?: "[^"]*")*)?)\)(.*)')
_PARAM = re.compile(r';([a-z][a-z0-9_.*-]*)=("[^"\\]*"|-?[0-9]+)')


@dataclass(frozen=True)
class SignedKey:
    """A request signed by the key ``key_hex`` under ``scheme``; ``created`` is v2's timestamp."""

    key_hex: str
    scheme: Scheme
    created: int | None = None


@dataclass(frozen=True)
class Bearer:
    """A request carrying a bearer token, still to be looked up by the caller."""

    token: str


Credential = SignedKey | Bearer


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return None


def _refuse(message: str, reason: str) -> SignatureError:
    return SignatureError(message, reason=reason)


def _verify_ed25519(key_hex: str, signature: bytes, message: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex)).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise _refuse(
            "the request signature does not verify with the key it names: the body, path or "
            "key differ from what was signed",
            "signature",
        ) from None


def authenticate(
    scheme: Scheme,
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
) -> Credential:
    """The credential of a request, or SignatureError. ``target`` is the path and query string
    exactly as sent; ``scheme`` is the one the endpoint speaks (v1 for ``/public``).

    >>> authenticate("v2", method="GET", target="/v2/public/projects/p",
    ...              headers={"Authorization": "Bearer t0ken"}, body=b"", now=0.0)
    Bearer(token='t0ken')
    """
    auth = _header(headers, "Authorization")
    if auth is not None and auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
        if not token:
            raise _refuse("the Authorization header holds an empty bearer token", "malformed")
        return Bearer(token)
    if scheme == "v1":
        return verify_v1(headers, body)
    return verify_v2(method=method, target=target, headers=headers, body=body, now=now)


def verify_v1(headers: Mapping[str, str], body: bytes) -> SignedKey:
    """Check ``Authorization: <key hex>:<signature hex>`` over SHA-256 of the raw body."""
    auth = _header(headers, "Authorization")
    if auth is None:
        raise _refuse(
            "the request has no Authorization header: sign it with an Ed25519 key "
            "(EncordUserClient.create_with_ssh_private_key) or send a bearer token",
            "missing",
        )
    match = _V1_AUTH.fullmatch(auth)
    if match is None:
        raise _refuse(
            "the Authorization header is not '<public key hex>:<signature hex>' "
            "(64 and 128 hex digits) nor 'Bearer <token>'",
            "malformed",
        )
    key_hex = match.group(1).lower()
    _verify_ed25519(key_hex, bytes.fromhex(match.group(2)), hashlib.sha256(body).digest())
    return SignedKey(key_hex, "v1")


def _byte_sequence(value: str | None, label: str, header: str) -> bytes:
    if value is None:
        raise _refuse(f"the request has no {header} header", "missing")
    match = _BYTE_SEQUENCE.fullmatch(value)
    if match is None or match.group(1) != label:
        raise _refuse(f"the {header} header is not '{label}=:<base64>:'", "malformed")
    try:
        return base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        raise _refuse(f"the {header} header's value is not valid base64", "malformed") from None


@dataclass(frozen=True)
class _SignatureInput:
    components: tuple[str, ...]
    params: dict[str, str | int]
    serialised: str  # everything after "encord-sig=", exactly as received


def _parse_signature_input(value: str | None) -> _SignatureInput:
    if value is None:
        raise _refuse("the request has no Signature-Input header", "missing")
    prefix = SIGNATURE_LABEL + "="
    if not value.startswith(prefix):
        raise _refuse(f"the Signature-Input header does not start with '{prefix}'", "malformed")
    serialised = value[len(prefix) :]
    match = _INNER_LIST.fullmatch(serialised)
    if match is None:
        raise _refuse(
            "the Signature-Input header is not '(\"component\" ...);name=value...'", "malformed"
        )
    components = tuple(item.strip('"') for item in match.group(1).split(" ") if item)
    params: dict[str, str | int] = {}
    rest = match.group(2)
    position = 0
    for param in _PARAM.finditer(rest):
        if param.start() != position:
            break
        raw = param.group(2)
        params[param.group(1)] = raw.strip('"') if raw.startswith('"') else int(raw)
        position = param.end()
    if position != len(rest):
        raise _refuse("the Signature-Input parameters are malformed", "malformed")
    return _SignatureInput(components, params, serialised)


def verify_v2(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    max_age: float = MAX_AGE_SECONDS,
    max_skew: float = MAX_SKEW_SECONDS,
) -> SignedKey:
    """Check a v2 signature: body digest, covered components, freshness, then Ed25519."""
    digest_header = _header(headers, "Content-Digest")
    digest = _byte_sequence(digest_header, "sha-256", "Content-Digest")
    if not hmac.compare_digest(digest, hashlib.sha256(body).digest()):
        raise _refuse(
            "the Content-Digest header does not match the request body: the body was changed "
            "after signing",
            "digest",
        )
    sig_input = _parse_signature_input(_header(headers, "Signature-Input"))
    missing = [c for c in REQUIRED_COMPONENTS if c not in sig_input.components]
    if missing:
        raise _refuse(f"the signature does not cover {', '.join(missing)}", "malformed")
    key_hex = sig_input.params.get("keyid")
    if not isinstance(key_hex, str) or _HEX_KEY.fullmatch(key_hex.lower()) is None:
        raise _refuse("the Signature-Input keyid is not a 64-digit hex public key", "malformed")
    alg = sig_input.params.get("alg", "ed25519")
    if alg != "ed25519":
        raise _refuse(
            f"the signature algorithm {alg!r} is not supported (only ed25519)", "malformed"
        )
    created = sig_input.params.get("created")
    if not isinstance(created, int):
        raise _refuse("the Signature-Input has no integer 'created' parameter", "malformed")
    if created < now - max_age or created > now + max_skew:
        raise _refuse(
            f"the signature was created at {created}, outside the accepted window "
            f"({int(max_age)} s back, {int(max_skew)} s ahead of the server's clock {int(now)}): "
            "sign the request afresh and check the client's clock",
            "stale",
        )
    values = {
        "@method": method.upper(),
        "@request-target": target,
        "content-digest": digest_header or "",
    }
    unknown = [c for c in sig_input.components if c not in values]
    if unknown:
        raise _refuse(f"the signature covers unsupported components {unknown}", "malformed")
    lines = [f'"{c}": {values[c]}' for c in sig_input.components]
    lines.append(f'"@signature-params": {sig_input.serialised}')
    signature = _byte_sequence(_header(headers, "Signature"), SIGNATURE_LABEL, "Signature")
    _verify_ed25519(key_hex.lower(), signature, "\n".join(lines).encode("utf-8"))
    return SignedKey(key_hex.lower(), "v2", created)
