"""Branch-name rules (Encord's): case-sensitive ``[A-Za-z0-9._-]+``.

Consensus branches start with ``encord-``; prediction branches use any other legal name.
"""

from __future__ import annotations

import re

from predscope.exceptions import BranchNameError

MAIN_BRANCH = "main"
CONSENSUS_PREFIX = "encord-"
MAX_BRANCH_LENGTH = 200
_BRANCH_RE = re.compile(r"[A-Za-z0-9._-]+")


def validate_branch_name(name: object) -> str:
    """Return ``name`` when legal, else raise ``BranchNameError`` stating the rule."""
    if not isinstance(name, str) or not _BRANCH_RE.fullmatch(name):
        raise BranchNameError(
            f"branch name {name!r} is not allowed - use only letters, digits, '-', '_' and '.' "
            "(case-sensitive, at least one character), e.g. 'main' or 'model-b.v2'"
        )
    if len(name) > MAX_BRANCH_LENGTH:
        raise BranchNameError(
            f"branch name {name[:40]!r}... is {len(name)} characters long - use at most "
            f"{MAX_BRANCH_LENGTH}"
        )
    return name


def is_consensus_branch(name: str) -> bool:
    return name.startswith(CONSENSUS_PREFIX)
