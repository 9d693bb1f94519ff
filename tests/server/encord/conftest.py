"""Fixtures for the Encord-SDK conformance tests: one venv per pinned SDK version, built once
per cache folder (the pytest cache, so a CI run builds each version once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.encord.sdk_envs import (
    SDK_VERSIONS,
    SdkEnv,
    SdkEnvError,
    default_cache_root,
    ensure_sdk_env,
)


@pytest.fixture(scope="session")
def sdk_cache_root(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    fallback = cache.mkdir("encord-sdk") if cache is not None else tmp_path_factory.mktemp("sdk")
    return default_cache_root(Path(fallback))


@pytest.fixture(scope="session", params=SDK_VERSIONS, ids=lambda v: f"encord-{v}")
def encord_sdk(request: pytest.FixtureRequest, sdk_cache_root: Path) -> SdkEnv:
    """The real ``encord`` SDK at each pinned version; a version that does not install fails
    the tests that use it with pip's output (never a silent skip)."""
    try:
        return ensure_sdk_env(str(request.param), sdk_cache_root)
    except SdkEnvError as exc:
        pytest.fail(str(exc), pytrace=False)
