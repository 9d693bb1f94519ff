"""The server's settings: one frozen dataclass, resolved from flags, then ``PREDSCOPE_*``, then
defaults, and checked once before anything binds a socket.

| setting            | flag / variable                          | default                      |
|--------------------|------------------------------------------|------------------------------|
| host               | ``--host`` / ``PREDSCOPE_HOST``          | 127.0.0.1 (loopback only)    |
| port               | ``--port`` / ``PREDSCOPE_PORT``          | 8000                         |
| max_body_bytes     | ``--max-body-mb`` / ``PREDSCOPE_MAX_BODY_MB`` | 512 MB                  |
| require_token      | ``--require-token`` (always off loopback)| off on loopback              |
| job_workers        | ``PREDSCOPE_JOB_WORKERS``                | 2 background jobs at a time  |
| thumbnail_cache_mb | ``PREDSCOPE_THUMBNAIL_CACHE_MB``         | 64 MB of thumbnails in memory|
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from predscope.exceptions import ServerConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_MB = 512
MB = 1024 * 1024


def is_loopback(host: str) -> bool:
    """True only for addresses no other machine can reach (``localhost`` included)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as public


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_MB * MB
    require_token: bool = False
    job_workers: int = 2
    thumbnail_cache_bytes: int = 64 * MB

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"port {self.port}: not a TCP port - use 1 to 65535")
        if self.max_body_bytes <= 0:
            raise ServerConfigError("max body size: must be positive - e.g. --max-body-mb 512")
        if self.job_workers < 1:
            raise ServerConfigError("PREDSCOPE_JOB_WORKERS: at least 1")
        if not is_loopback(self.host):
            # Off loopback a token is required on every request, whatever was asked.
            object.__setattr__(self, "require_token", True)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ServerConfigError(f"{name}={text!r}: not an integer") from None


def resolve_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    max_body_mb: int | None = None,
    require_token: bool = False,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Flags first, then ``PREDSCOPE_*`` variables, then the defaults above."""
    env = os.environ if env is None else env
    body_mb = max_body_mb or _env_int(env, "PREDSCOPE_MAX_BODY_MB") or DEFAULT_MAX_BODY_MB
    return Settings(
        host=host or env.get("PREDSCOPE_HOST") or DEFAULT_HOST,
        port=port if port is not None else (_env_int(env, "PREDSCOPE_PORT") or DEFAULT_PORT),
        max_body_bytes=body_mb * MB,
        require_token=require_token,
        job_workers=_env_int(env, "PREDSCOPE_JOB_WORKERS") or 2,
        thumbnail_cache_bytes=(_env_int(env, "PREDSCOPE_THUMBNAIL_CACHE_MB") or 64) * MB,
    )
