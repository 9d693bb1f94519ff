"""Each predscope error maps to the Encord code and HTTP status the SDK turns into its own
exception class (legacy: code in a one-element list on HTTP 200; v2: the real status)."""

from __future__ import annotations

import pytest

from predscope.exceptions import (
    AnswerError,
    BranchNameError,
    CoordinatesError,
    FrameError,
    InvalidArgumentsError,
    OntologyError,
    ResourceExistsError,
    ResourceNotFoundError,
    SignatureError,
    StoreBusyError,
)
from predscope.server.encord.errors import (
    authentication,
    authorisation,
    classify,
    legacy_body,
    v2_status_and_body,
)


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (SignatureError("x", reason="stale"), "AUTHENTICATION_ERROR", 401),
        (authentication("x"), "AUTHENTICATION_ERROR", 401),
        (authorisation("x"), "AUTHORISATION_ERROR", 403),
        (OntologyError("x"), "FEATURE_DOES_NOT_EXIST_ERROR", 400),
        (AnswerError("x"), "ANSWER_DICTIONARY_ERROR", 400),
        (FrameError("x"), "CORRUPTED_LABEL_ERROR", 400),
        (CoordinatesError("x"), "CORRUPTED_LABEL_ERROR", 400),
        (BranchNameError("x"), "INVALID_ARGUMENTS_ERROR", 400),
        (InvalidArgumentsError("x"), "INVALID_ARGUMENTS_ERROR", 400),
        (ResourceNotFoundError("x"), "RESOURCE_NOT_FOUND_ERROR", 404),
        (ResourceExistsError("x"), "RESOURCE_EXISTS_ERROR", 409),
        (StoreBusyError("x"), "RATE_LIMIT_ERROR", 429),
        (RuntimeError("secret detail"), "UNKNOWN_ERROR", 500),
    ],
)
def test_mapping(error: Exception, code: str, status: int) -> None:
    assert classify(error) == (code, status)
    body = legacy_body(error)
    assert body["response"] == [code] and body["status"] == status
    got_status, content = v2_status_and_body(error)
    assert got_status == status and content["code"] == code


def test_unexpected_errors_do_not_leak_their_text() -> None:
    assert "secret" not in legacy_body(RuntimeError("secret detail"))["payload"]
    assert "secret" not in v2_status_and_body(RuntimeError("secret detail"))[1]["message"]
