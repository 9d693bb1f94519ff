"""The conformance harness itself: each pinned SDK version is really installed from PyPI in its
own isolated venv, built once and reused, and a version that cannot install fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server.encord.sdk_envs import SDK_VERSIONS, SdkEnv, SdkEnvError, ensure_sdk_env

pytestmark = pytest.mark.slow

PROBE = """
import importlib.util, json, sys
import encord
print(json.dumps({
    "version": encord.__version__,
    "file": encord.__file__,
    "prefix": sys.prefix,
    "predscope": importlib.util.find_spec("predscope") is not None,
}))
"""


def test_pinned_versions_straddle_the_protocol_changes() -> None:
    # 0.1.153 moved the ontology to REST; 0.1.204/0.1.205 moved classifications to ranges.
    parsed = [tuple(int(p) for p in v.split(".")) for v in SDK_VERSIONS]
    assert parsed == sorted(parsed)
    assert parsed[0] < (0, 1, 153) <= parsed[1] < (0, 1, 204) <= parsed[-1]


def test_each_env_holds_that_sdk_and_not_predscope(encord_sdk: SdkEnv, tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    done = encord_sdk.run(probe, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"] == encord_sdk.version
    assert Path(seen["file"]).is_relative_to(encord_sdk.root)
    assert Path(seen["prefix"]).resolve() == encord_sdk.root.resolve()
    assert seen["predscope"] is False  # the SDK process sees none of our code


def test_a_built_env_is_reused(encord_sdk: SdkEnv, sdk_cache_root: Path) -> None:
    python = encord_sdk.python.resolve()
    marker = next(encord_sdk.root.glob("predscope-sdk-env.json"))
    before = marker.stat().st_mtime_ns
    again = ensure_sdk_env(encord_sdk.version, sdk_cache_root)
    assert again == encord_sdk
    assert marker.stat().st_mtime_ns == before and again.python.resolve() == python


def test_a_version_that_does_not_exist_fails_with_pips_output(tmp_path: Path) -> None:
    with pytest.raises(SdkEnvError) as caught:
        ensure_sdk_env("0.0.0.dev424242", tmp_path)
    message = str(caught.value)
    assert "encord==0.0.0.dev424242 does not install" in message
    assert "No matching distribution" in message or "Could not find" in message
    assert not list(tmp_path.rglob("predscope-sdk-env.json"))  # no env passes as built
