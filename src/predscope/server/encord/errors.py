"""predscope's errors in the two conventions Encord's SDK understands, decided in one place.

Legacy RPC: HTTP 200 with ``{"status": N, "response": ["CODE"], "payload": message}`` (the code
wrapped in a one-element list, which is what the SDK compares against). v2 REST: the real HTTP
status with ``{"message": ...}``.
"""

from __future__ import annotations

from typing import Any

from predscope.exceptions import (
    AnswerError,
    AuthenticationError,
    BranchNameError,
    CoordinatesError,
    FrameError,
    InvalidArgumentsError,
    LabelRowError,
    OntologyError,
    PredscopeError,
    RequestTooLargeError,
    ResourceExistsError,
    ResourceNotFoundError,
    SignatureError,
    StoreBusyError,
)


class EncordApiError(Exception):
    """An error with Encord's own code, raised by the API layer itself (auth, dispatch)."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def authentication(message: str) -> EncordApiError:
    return EncordApiError("AUTHENTICATION_ERROR", 401, message)


def authorisation(message: str) -> EncordApiError:
    return EncordApiError("AUTHORISATION_ERROR", 403, message)


# Most specific first: (class, Encord code, HTTP status).
_MAPPING: tuple[tuple[type[Exception], str, int], ...] = (
    (SignatureError, "AUTHENTICATION_ERROR", 401),
    (AuthenticationError, "AUTHENTICATION_ERROR", 401),
    (RequestTooLargeError, "PAYLOAD_TOO_LARGE", 413),
    (OntologyError, "FEATURE_DOES_NOT_EXIST_ERROR", 400),
    (AnswerError, "ANSWER_DICTIONARY_ERROR", 400),
    (FrameError, "CORRUPTED_LABEL_ERROR", 400),
    (CoordinatesError, "CORRUPTED_LABEL_ERROR", 400),
    (LabelRowError, "CORRUPTED_LABEL_ERROR", 400),
    (BranchNameError, "INVALID_ARGUMENTS_ERROR", 400),
    (InvalidArgumentsError, "INVALID_ARGUMENTS_ERROR", 400),
    (ResourceNotFoundError, "RESOURCE_NOT_FOUND_ERROR", 404),
    (ResourceExistsError, "RESOURCE_EXISTS_ERROR", 409),
    (StoreBusyError, "RATE_LIMIT_ERROR", 429),
)


def classify(exc: Exception) -> tuple[str, int]:
    """(Encord code, HTTP status) for an error; anything unexpected is UNKNOWN_ERROR / 500."""
    if isinstance(exc, EncordApiError):
        return exc.code, exc.status
    for cls, code, status in _MAPPING:
        if isinstance(exc, cls):
            return code, status
    if isinstance(exc, PredscopeError):
        return "INVALID_ARGUMENTS_ERROR", 400
    return "UNKNOWN_ERROR", 500


def legacy_body(exc: Exception) -> dict[str, Any]:
    code, status = classify(exc)
    message = str(exc) if code != "UNKNOWN_ERROR" else "internal error: see the server log"
    return {"status": status, "response": [code], "payload": message}


def v2_status_and_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    code, status = classify(exc)
    message = str(exc) if code != "UNKNOWN_ERROR" else "internal error: see the server log"
    return status, {"message": message, "code": code}
