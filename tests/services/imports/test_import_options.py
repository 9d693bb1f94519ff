"""``ImportOptions``: the one place the branch rule and the mode rule live."""

from __future__ import annotations

import pytest

from predscope.exceptions import BranchNameError, InvalidArgumentsError
from predscope.services.imports.options import ImportOptions


@pytest.mark.parametrize("branch", ["", " ", "a b", "main\n", "x" * 201])
def test_an_empty_or_illegal_branch_is_an_error(branch: str) -> None:
    for ground_truth in (False, True):
        with pytest.raises(BranchNameError, match="branch_name='NAME'"):
            ImportOptions(branch=branch, ground_truth=ground_truth)
    with pytest.raises(BranchNameError, match="--branch NAME"):
        ImportOptions(branch=branch, caller="cli")


def test_predictions_without_a_branch_name_the_flag_to_give() -> None:
    with pytest.raises(InvalidArgumentsError, match="--branch NAME.*--ground-truth"):
        ImportOptions(caller="cli")
    with pytest.raises(InvalidArgumentsError, match="branch_name='NAME'.*ground_truth=True"):
        ImportOptions()


def test_ground_truth_defaults_to_main_and_predictions_reach_main_only_by_name() -> None:
    assert ImportOptions(ground_truth=True).branch_name == "main"
    assert ImportOptions(ground_truth=True, branch="gt-v2").branch_name == "gt-v2"
    explicit = ImportOptions(branch="main")
    assert (explicit.branch_name, explicit.ground_truth) == ("main", False)


def test_encord_rows_may_leave_the_branch_to_the_file() -> None:
    assert ImportOptions(branch_in_rows=True).branch is None
    with pytest.raises(BranchNameError):
        ImportOptions(branch="", branch_in_rows=True)


def test_replace_and_append_exclude_each_other() -> None:
    assert ImportOptions(branch="b").mode == "new"
    assert ImportOptions(branch="b", replace=True).mode == "replace"
    assert ImportOptions(branch="b", append=True).mode == "append"
    with pytest.raises(InvalidArgumentsError, match="--replace and --append exclude each other"):
        ImportOptions(branch="b", replace=True, append=True, caller="cli")


def test_policies_are_checked_and_the_object_is_frozen() -> None:
    with pytest.raises(InvalidArgumentsError, match="on_unknown_image 'ignore'"):
        ImportOptions(branch="b", on_unknown_image="ignore")  # type: ignore[arg-type]
    options = ImportOptions(branch="b")
    with pytest.raises(AttributeError):
        options.branch = "main"  # type: ignore[misc]
