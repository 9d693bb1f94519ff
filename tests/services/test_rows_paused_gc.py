"""The bulk paths pause the garbage collector; they must hand it back exactly as they found it."""

from __future__ import annotations

import gc
import threading

import pytest

from predscope.services.rows import paused_gc


@pytest.fixture(autouse=True)
def _restore_gc() -> object:
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


def test_nested_pauses_re_enable_only_at_the_outermost_exit() -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner exit must not switch it back on
    assert gc.isenabled()


def test_a_collector_the_user_disabled_stays_disabled() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_inside_still_restores_the_collector() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_overlapping_threads_restore_after_the_last_one() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def worker() -> None:
        with paused_gc():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    with paused_gc():
        pass
    assert not gc.isenabled()  # the worker is still inside its pause
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_pause_kept_alive_by_overlapping_ones_still_collects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server's overlapping jobs must not keep the collector off for ever."""
    from predscope.services import rows

    monkeypatch.setattr(rows, "MAX_GC_PAUSE_SECONDS", 0.0)
    gc.enable()
    phases: list[str] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        phases.append(phase)

    gc.callbacks.append(on_gc)
    try:
        with paused_gc():
            with paused_gc():
                pass
            assert phases.count("start") >= 1  # the inner exit collected, past the bound
            assert not gc.isenabled()  # while the outer pause goes on
    finally:
        gc.callbacks.remove(on_gc)
    assert gc.isenabled()


def test_within_the_bound_an_inner_exit_does_not_collect() -> None:
    gc.enable()
    gc.collect()
    phases: list[str] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        phases.append(phase)

    gc.callbacks.append(on_gc)
    try:
        with paused_gc():
            with paused_gc():
                pass
            assert phases == []
    finally:
        gc.callbacks.remove(on_gc)


def test_evaluation_inputs_use_the_one_pause() -> None:
    from predscope.services.analysis import inputs

    assert inputs.paused_gc is paused_gc
    assert not hasattr(inputs, "_gc_paused")


def test_pausing_can_be_turned_off_for_a_process() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import gc; from predscope.services.rows import paused_gc\n"
        "with paused_gc():\n    print(gc.isenabled())"
    )
    env = {**os.environ, "PREDSCOPE_GC_PAUSE": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr
