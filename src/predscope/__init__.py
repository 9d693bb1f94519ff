"""predscope: self-hosted model-prediction analysis with an Encord-shaped Python API.

Heavy modules load on first use (``predscope.Client`` imports the store only when touched), so
``import predscope`` stays cheap for the CLI and for scripts that only need the objects layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Client": "predscope.sdk.client",
    "Project": "predscope.sdk.project",
}

if TYPE_CHECKING:
    from predscope.sdk.client import Client
    from predscope.sdk.project import Project

__all__ = ["Client", "Project", "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'predscope' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
