"""Signed, expiring media links in place of the server's own file paths.

Encord's server answers a unit's ``data_link`` with a pre-signed URL; scripts download it without
signing anything. predscope does the same: a local file's link becomes
``/v2/public/media/<project>/<data hash>?frame=&expires=&signature=``, an HMAC over exactly those
values with a key that lives only in the server process (links die with it, or after ``ttl``). So
a client never learns where the server keeps its files, and the media route opens only the file
the store registered for that unit, as every other media route does. Links that are URLs are
passed on as they are; a unit without media keeps ``null``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from predscope.server.encord.errors import EncordApiError
from predscope.store.records import DataUnitRecord

MEDIA_PREFIX = "/v2/public/media"
DEFAULT_TTL_S = 3600.0  # as long as Encord's signed links last


class MediaLinks:
    def __init__(
        self,
        key: bytes | None = None,
        *,
        ttl: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key or secrets.token_bytes(32)
        self.ttl = ttl
        self.clock = clock

    def _sign(self, project_hash: str, data_hash: str, frame: int | None, expires: int) -> str:
        message = f"{project_hash}\n{data_hash}\n{'' if frame is None else frame}\n{expires}"
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def url(self, base: str, project_hash: str, data_hash: str, frame: int | None = None) -> str:
        expires = int(self.clock() + self.ttl)
        query = {} if frame is None else {"frame": frame}
        query.update(expires=expires)
        signature = self._sign(project_hash, data_hash, frame, expires)
        return (
            f"{base.rstrip('/')}{MEDIA_PREFIX}/{project_hash}/{data_hash}?"
            f"{urlencode({**query, 'signature': signature})}"
        )

    def link(
        self, base: str, project_hash: str, unit: DataUnitRecord, frame: int | None = None
    ) -> str | None:
        """What the SDK is told: a signed link for a local file, a URL as it is, else None."""
        raw = unit.data_link
        if unit.data_type == "img_group" and frame is not None and 0 <= frame < len(unit.images):
            raw = unit.images[frame].data_link
        if not raw:
            return None
        if "://" in raw:
            return raw
        return self.url(base, project_hash, unit.data_hash, frame)

    def check(
        self, project_hash: str, data_hash: str, frame: int | None, expires: str, signature: str
    ) -> None:
        """Refuse a link that was not made here, was altered, or has expired (HTTP 403)."""
        try:
            until = int(expires)
        except ValueError:
            raise EncordApiError(
                "AUTHORISATION_ERROR", 403, "the media link is malformed"
            ) from None
        wanted = self._sign(project_hash, data_hash, frame, until)
        if not hmac.compare_digest(wanted, signature):
            raise EncordApiError(
                "AUTHORISATION_ERROR",
                403,
                "the media link's signature does not match - list the rows again for a fresh link",
            )
        if until < self.clock():
            raise EncordApiError(
                "AUTHORISATION_ERROR",
                403,
                "the media link has expired - list the rows again for a fresh link",
            )
