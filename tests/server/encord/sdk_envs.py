"""Virtual environments holding the real ``encord`` SDK from PyPI, one per pinned version.

The conformance tests run Encord's own client code against predscope, so each version gets its
own venv (the SDK pins pydantic, requests and cryptography ranges that differ from ours). A venv is
built once and cached under the pytest cache folder, keyed by SDK and Python version; a file lock
lets xdist workers share one build. A build that did not finish has no completion marker and is
rebuilt from scratch, so an interrupted run never leaves a half-installed SDK behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# 0.1.150 predates the v2 ontology endpoint (0.1.153), 0.1.200 the classification-range switch
# (0.1.204/0.1.205); 0.1.211 is the newest 0.1.x on PyPI when this was written (`pip index
# versions encord`). Add newer 0.1.x releases here as they appear.
SDK_VERSIONS: tuple[str, ...] = ("0.1.150", "0.1.200", "0.1.211")
CACHE_ENV = "PREDSCOPE_ENCORD_SDK_CACHE"  # overrides the cache folder (e.g. to share it)
_MARKER = "predscope-sdk-env.json"
_INSTALL_TIMEOUT = 900


class SdkEnvError(RuntimeError):
    """A venv could not be built: the message carries pip's output."""


@dataclass(frozen=True)
class SdkEnv:
    """One built venv with ``encord==version`` installed."""

    version: str
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def run(
        self,
        script: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``script`` with this venv's Python, isolated from predscope's own environment."""
        return subprocess.run(
            [str(self.python), str(script), *args],
            env=sdk_process_env(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def sdk_process_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for an SDK process: no PYTHONPATH or venv leaking predscope in, no proxy
    for loopback, and none of Encord's key variables unless the caller sets them."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "ENCORD_SSH_KEY", "ENCORD_SSH_KEY_FILE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def default_cache_root(fallback: Path) -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else fallback


def _key() -> str:
    return f"py{sys.version_info.major}.{sys.version_info.minor}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _complete(root: Path, version: str) -> bool:
    marker = root / _MARKER
    if not marker.is_file() or not (root / "bin" / "python").exists():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return bool(recorded.get("encord") == version and recorded.get("python") == _key())


def _pip(python: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", *args],
        env=sdk_process_env(),
        capture_output=True,
        text=True,
        timeout=_INSTALL_TIMEOUT,
        check=False,
    )


def ensure_sdk_env(version: str, cache_root: Path) -> SdkEnv:
    """The venv for ``encord==version``, built on first use. Raises SdkEnvError with pip's
    output when the version does not install on this Python."""
    root = cache_root / f"encord-{version}-{_key()}"
    with _locked(cache_root / f"encord-{version}-{_key()}.lock"):
        if _complete(root, version):
            return SdkEnv(version, root)
        shutil.rmtree(root, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        python = root / "bin" / "python"
        done = _pip(
            python, ["install", "--quiet", "--disable-pip-version-check", f"encord=={version}"]
        )
        if done.returncode != 0:
            raise SdkEnvError(
                f"encord=={version} does not install on Python {_key()} "
                f"(pip exit {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        check = subprocess.run(
            [str(python), "-c", "import encord; print(encord.__version__)"],
            env=sdk_process_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check.returncode != 0 or check.stdout.strip() != version:
            raise SdkEnvError(
                f"encord=={version} installed but does not import as that version: "
                f"{check.stdout.strip()!r}\n{check.stderr[-4000:]}"
            )
        (root / _MARKER).write_text(
            json.dumps({"encord": version, "python": _key()}), encoding="utf-8"
        )
        return SdkEnv(version, root)
