"""The server's rules that need no running server: settings, the status map, upload names."""

from __future__ import annotations

import inspect
import stat
import zipfile
from pathlib import Path

import pytest

import predscope.exceptions as exc
from predscope.server.errors import STATUS, status_for
from predscope.server.settings import Settings, is_loopback, resolve_settings
from predscope.server.uploads import safe_file_name, unpack_zip


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("myhost.example", False),  # a name may resolve anywhere: treated as public
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert Settings(host=host).require_token is not loopback  # off loopback: always a token


def test_settings_resolve_flags_then_environment_then_defaults() -> None:
    env = {"PREDSCOPE_PORT": "9001", "PREDSCOPE_MAX_BODY_MB": "3", "PREDSCOPE_HOST": "::1"}
    assert resolve_settings(env={}) == Settings()
    from_env = resolve_settings(env=env)
    assert (from_env.host, from_env.port, from_env.max_body_bytes) == ("::1", 9001, 3 << 20)
    flags = resolve_settings(host="127.0.0.2", port=8080, max_body_mb=1, env=env)
    assert (flags.host, flags.port, flags.max_body_bytes) == ("127.0.0.2", 8080, 1 << 20)
    with pytest.raises(exc.ServerConfigError, match="PREDSCOPE_PORT"):
        resolve_settings(env={"PREDSCOPE_PORT": "eighty"})
    with pytest.raises(exc.ServerConfigError, match="port 70000"):
        Settings(port=70000)


def _error_classes() -> list[type[exc.PredscopeError]]:
    return [
        c
        for _, c in inspect.getmembers(exc, inspect.isclass)
        if issubclass(c, exc.PredscopeError) and c.__module__ == exc.__name__
    ]


def test_every_exception_has_its_own_code_and_a_status() -> None:
    classes = _error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert set(STATUS) <= set(classes)
    for cls in classes:  # a class not listed takes the status of its nearest listed base
        status = next(STATUS[c] for c in cls.__mro__ if c in STATUS)
        assert 400 <= status < 600, cls
    assert status_for(exc.UnknownCategoryError("f", "", "p")) == 422  # inherits ImportFormatError
    assert status_for(exc.StoreBusyError("busy")) == 503
    assert status_for(exc.ResourceNotFoundError("gone")) == 404


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("preds.json", "preds.json"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\dets.json", "dets.json"),
        (".hidden.json", "hidden.json"),
        ("a b;rm -rf.json", "a_b_rm_-rf.json"),
        ("..", "upload.json"),
        ("", "upload.json"),
        (None, "upload.json"),
    ],
)
def test_upload_names_are_reduced_to_a_safe_base_name(given: str | None, name: str) -> None:
    assert safe_file_name(given) == name


def _zip(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_zip_members_stay_inside_the_folder(tmp_path: Path) -> None:
    good = _zip(tmp_path / "good.zip", {"labels/a.txt": b"0 0.5 0.5 0.1 0.1", "labels/.x": b""})
    root = unpack_zip(good, tmp_path / "out", 1 << 20)
    assert root == tmp_path / "out" / "labels" and sorted(p.name for p in root.iterdir()) == [
        "a.txt"
    ]
    for name, members, link in [
        ("up.zip", {"../evil.txt": b"x"}, None),
        ("deep.zip", {"a/../../evil.txt": b"x"}, None),
        ("abs.zip", {"/tmp/evil.txt": b"x"}, None),
        ("link.zip", {"a.txt": b"x"}, "passwd"),
    ]:
        target = tmp_path / name.replace(".zip", "")
        with pytest.raises(exc.ImportFormatError, match=name):
            unpack_zip(_zip(tmp_path / name, members, link), target, 1 << 20)
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_zip_unpacked_size_is_counted_not_trusted(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"zeros.txt": bytes(3 << 20)})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(exc.ImportFormatError, match="more than 1 MB"):
        unpack_zip(bomb, tmp_path / "out", 1 << 20)
    with pytest.raises(exc.ImportFormatError, match="not a readable zip"):
        (tmp_path / "x.zip").write_bytes(b"[1, 2]")
        unpack_zip(tmp_path / "x.zip", tmp_path / "o2", 1 << 20)
