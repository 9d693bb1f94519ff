"""The guide's three scripts in their Encord SDK form, with only their constants changed.

The Encord form is recovered from predscope's ports in examples/guide (whose test proves they
differ from the guide only in the import and client lines) and checked against the guide's
sha256, so what runs here is byte for byte the guide's script apart from the lines below.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.examples.test_guide_scripts import GUIDE, GUIDE_SHA256, _unported

_CLIENT_CALL = "    ssh_private_key_path=SSH_PATH,\n)"


def guide_text(name: str) -> str:
    text = _unported((GUIDE / name).read_text(encoding="utf-8"))
    assert hashlib.sha256(text.encode()).hexdigest() == GUIDE_SHA256[name], name
    return text


def port_script(name: str, folder: Path, *, domain: str, **constants: str) -> Path:
    """Write the guide's ``name`` into ``folder`` with ``constants`` (e.g. SSH_PATH) replaced
    and the client pointed at ``domain``; every constant must exist exactly once."""
    text = guide_text(name)
    for key, value in constants.items():
        pattern = re.compile(rf'^{key} = "[^"\n]*"$', re.MULTILINE)
        text, count = pattern.subn(f"{key} = {value!r}", text)
        assert count == 1, f"{name}: constant {key} found {count} times"
    assert text.count(_CLIENT_CALL) == 1, name
    text = text.replace(
        _CLIENT_CALL, f"    ssh_private_key_path=SSH_PATH,\n    domain={domain!r},\n)"
    )
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
