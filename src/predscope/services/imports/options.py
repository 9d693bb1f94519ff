"""The options every import shares, and the branch rule, in one object.

The CLI (``import coco|yolo|voc|encord``), the SDK (``Project.import_*``) and the HTTP server all
build one ``ImportOptions``; its constructor is the only place the rules live:

* the branch must be a legal name (an empty one, e.g. from an unset shell variable, is an error);
* without a branch, ground truth goes to ``main`` and predictions are an error that names the flag
  (or parameter) to give, so predictions reach ``main`` only when ``main`` is named;
* an import into a branch that already holds labels must say ``replace`` or ``append``, not both.

Format-specific choices (``--gt``, ``--score-field``, YOLO's ``--classes``...) stay keywords of
their import function; the callback for progress is not an option either.

>>> ImportOptions(branch="model-b", append=True).mode
'append'
>>> ImportOptions(ground_truth=True).branch_name
'main'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from predscope.exceptions import BranchNameError, InvalidArgumentsError
from predscope.store.branches import MAIN_BRANCH, validate_branch_name

__all__ = ["Caller", "ImportMode", "ImportOptions", "MapInput", "Policy"]

MapInput = str | Path | Mapping[str, str] | None
Policy = Literal["error", "skip"]
ImportMode = Literal["new", "replace", "append"]
Caller = Literal["cli", "python", "http"]

# How the caller spells each option, so a message names what the user can actually type.
_SPELLING: dict[Caller, dict[str, str]] = {
    "cli": {
        "branch": "--branch NAME",
        "ground_truth": "--ground-truth",
        "replace": "--replace",
        "append": "--append",
        "on_unknown_image": "--on-unknown-image",
        "on_unknown_category": "--on-unknown-category",
    },
    "python": {
        "branch": "branch_name='NAME'",
        "ground_truth": "ground_truth=True",
        "replace": "replace=True",
        "append": "append=True",
        "on_unknown_image": "on_unknown_image",
        "on_unknown_category": "on_unknown_category",
    },
    "http": {
        "branch": "the query parameter branch=NAME",
        "ground_truth": "ground_truth=true",
        "replace": "replace=true",
        "append": "append=true",
        "on_unknown_image": "on_unknown_image",
        "on_unknown_category": "on_unknown_category",
    },
}


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What to import into, and how (see the module docstring for the rules).

    ``branch``: the target branch (None: ``main`` for ground truth; for Encord label rows, with
    ``branch_in_rows``, each row's own ``branch_name``). ``replace`` swaps the branch's labels
    for the import's, ``append`` adds to them. Maps are file paths or ``{key: value}`` dicts
    (see ``formats.coco_mapping.load_map_file``). ``caller`` only chooses how messages spell
    the options (``--replace`` or ``replace=True``).
    """

    branch: str | None = None
    ground_truth: bool = False
    dry_run: bool = False
    replace: bool = False
    append: bool = False
    on_unknown_category: Policy = "error"
    on_unknown_image: Policy = "error"
    image_map: MapInput = None
    category_map: MapInput = None
    branch_in_rows: bool = False
    caller: Caller = "python"

    def __post_init__(self) -> None:
        if self.caller not in _SPELLING:
            raise InvalidArgumentsError(
                f"import: caller={self.caller!r} - use 'cli', 'python' or 'http'"
            )
        say = self.spell
        if self.branch is None:
            if self.ground_truth:
                object.__setattr__(self, "branch", MAIN_BRANCH)
            elif not self.branch_in_rows:
                raise InvalidArgumentsError(
                    f"import: no target branch - give {say('branch')} for predictions (e.g. "
                    f"'model-v2'), or {say('ground_truth')} to import ground truth into 'main'"
                )
        else:
            try:
                validate_branch_name(self.branch)
            except BranchNameError as exc:
                raise BranchNameError(f"import {say('branch')}: {exc}") from None
        if self.replace and self.append:
            raise InvalidArgumentsError(
                f"import: {say('replace')} and {say('append')} exclude each other - replace swaps "
                "the branch's labels for the import's, append adds to them; choose one"
            )
        for name in ("on_unknown_category", "on_unknown_image"):
            value = getattr(self, name)
            if value not in ("error", "skip"):
                raise InvalidArgumentsError(
                    f"import: {say(name)} {value!r} is not a policy - use 'error' or 'skip'"
                )

    def spell(self, option: str) -> str:
        """``option`` as this caller writes it (``--replace`` / ``replace=True``)."""
        return _SPELLING[self.caller].get(option, option)

    @property
    def branch_name(self) -> str:
        """The target branch; only Encord rows (``branch_in_rows``) may leave it to the file."""
        if self.branch is None:
            raise InvalidArgumentsError("import: this format needs a target branch")
        return self.branch

    @property
    def mode(self) -> ImportMode:
        """What happens to labels already on the branch: refused (new), swapped or added to."""
        return "replace" if self.replace else "append" if self.append else "new"
