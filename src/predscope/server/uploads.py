"""Staging an upload: the body into a server-made folder, a zip unpacked there, safely.

Only the server names what it writes: an upload's file name is reduced to a safe base name, and a
zip member is written only if its path stays inside the folder (no absolute paths, no ``..``, no
links), with the unpacked size counted as it is written (a zip bomb stops at the limit, whatever
the archive claims).
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from fastapi import Request

from predscope.exceptions import ImportFormatError

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_COPY_CHUNK = 1 << 20
MAX_ZIP_MEMBERS = 200_000


def safe_file_name(name: str | None, fallback: str = "upload.json") -> str:
    """``../../etc/passwd`` -> ``passwd``: the last part, safe characters only, never hidden."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")[:120]
    return cleaned or fallback


async def receive_to(request: Request, path: Path) -> int:
    """Stream the request body into ``path``; the size limit is enforced by the middleware."""
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
            size += len(chunk)
    return size


def scrub(value: object, folder: Path) -> object:
    """Messages and reports name the upload, not the server's staging folder."""
    if isinstance(value, str):
        return value.replace(f"{folder}/", "")
    if isinstance(value, list):
        return [scrub(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, folder) for k, v in value.items()}
    return value


def _member_path(root: Path, info: zipfile.ZipInfo, archive: str) -> Path | None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts:
        raise ImportFormatError(
            archive, info.filename, "the member's path leaves the archive's folder", "re-zip it"
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ImportFormatError(archive, info.filename, "links are not accepted", "re-zip files")
    if info.is_dir() or not parts or parts[-1].startswith(".") or "__MACOSX" in parts:
        return None
    return root.joinpath(*parts)


def unpack_zip(archive: Path, root: Path, max_bytes: int) -> Path:
    """Unpack into ``root``; returns the folder to import (the single top folder, if one)."""
    where = archive.name
    root.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise ImportFormatError(where, "", f"{len(members)} members is too many")
            written = 0
            for info in members:
                target = _member_path(root, info, where)
                if target is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(_COPY_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ImportFormatError(
                                where,
                                info.filename,
                                f"unpacks to more than {max_bytes >> 20} MB",
                                "send a smaller archive",
                            )
                        out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise ImportFormatError(
            where, "", f"not a readable zip archive ({exc})", "re-zip it"
        ) from None
    entries = list(root.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
