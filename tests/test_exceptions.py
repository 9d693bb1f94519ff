"""``exceptions``: every error class carries its own stable code, and no two share one."""

from __future__ import annotations

import inspect

from predscope import exceptions


def _classes() -> list[type[exceptions.PredscopeError]]:
    return [
        c
        for _, c in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(c, exceptions.PredscopeError)
    ]


def test_every_class_declares_its_own_code() -> None:
    missing = [c.__name__ for c in _classes() if "code" not in vars(c)]
    assert not missing, f"classes inheriting their parent's code: {missing}"


def test_codes_are_unique_snake_case() -> None:
    codes = [c.code for c in _classes()]
    assert len(codes) == len(set(codes)), sorted(codes)
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes), codes
