"""Every error predscope raises on purpose, in one place.

The module path mirrors ``encord.exceptions``, so ``from encord.exceptions import OntologyError``
ports by changing the package name. Messages follow one rule: *where* (file, record, field), *what*
is wrong, and *what to do*. The CLI prints the message without a traceback and exits with 1.

Each class has a stable ``code`` (snake case) that JSON output and the HTTP API carry, so scripts
can branch on the kind of error without parsing its message; codes never change once released.
"""

from __future__ import annotations


class PredscopeError(Exception):
    """Base for all expected, user-facing errors."""

    code = "error"


class OntologyError(PredscopeError):
    """A title or hash lookup in the ontology found nothing, or more than one item."""

    code = "ontology_error"


class LabelRowError(PredscopeError):
    """A label row was used in the wrong state (e.g. read before ``initialise_labels``)."""

    code = "label_row_state"


class CoordinatesError(PredscopeError, ValueError):
    """Coordinates that cannot describe a real shape (NaN, out of range, degenerate, wrong size)."""

    code = "invalid_coordinates"


class FrameError(PredscopeError, ValueError):
    """A frame index or range outside the data unit."""

    code = "invalid_frame"


class AnswerError(PredscopeError, ValueError):
    """An attribute answer that does not fit the attribute (wrong type, unknown option)."""

    code = "invalid_answer"


class BranchNameError(PredscopeError, ValueError):
    """A branch name that breaks the naming rule."""

    code = "invalid_branch_name"


class InvalidArgumentsError(PredscopeError, ValueError):
    """Arguments that cannot be combined or are out of their domain."""

    code = "invalid_arguments"


class ResourceNotFoundError(PredscopeError):
    """A project, data unit, branch or label row that does not exist."""

    code = "not_found"


class ResourceExistsError(PredscopeError):
    """Creating something that already exists (a project title, a label row on a branch)."""

    code = "already_exists"


class StoreError(PredscopeError):
    """The store cannot be opened or written (locked, wrong schema version, unreachable)."""

    code = "store_error"


class StoreBusyError(StoreError):
    """Another process held the store's write lock for longer than the busy timeout."""

    code = "store_busy"


class SchemaVersionError(StoreError):
    """The store was written by a newer predscope than this one."""

    code = "schema_version"


class MediaError(PredscopeError):
    """A media file that cannot be read for its metadata."""

    code = "media_error"


class OutputPathError(PredscopeError):
    """An export's output file cannot be written (missing folder, no permission, a folder)."""

    code = "output_path"


class ImportFormatError(PredscopeError, ValueError):
    """Input data (COCO, Encord JSON, YOLO, VOC) that is malformed or does not fit the project.

    The message names the file, the record inside it and the field, so the user can find the line.
    """

    code = "import_format"

    def __init__(self, source: str, location: str, problem: str, hint: str = "") -> None:
        self.source = source
        self.location = location
        self.problem = problem
        self.hint = hint
        where = f"{source}:{location}" if location else source
        text = f"{where}: {problem}"
        if hint:
            text += f" - {hint}"
        super().__init__(text)


class UnknownCategoryError(ImportFormatError):
    """A category / class that matches no ontology object."""

    code = "unknown_category"


class DuplicateImportError(PredscopeError):
    """The very same file again onto a branch it was imported into (``append`` would duplicate)."""

    code = "duplicate_import"


class BranchHasLabelsError(DuplicateImportError):
    """An import into a branch that already holds labels, saying neither replace nor append.

    A kind of ``DuplicateImportError``: scripts that caught a repeated import still catch it."""

    code = "branch_has_labels"


class EmptyImportError(ImportFormatError):
    """An import that would write nothing (every annotation skipped, or none in the file)."""

    code = "empty_import"


class EvaluationError(PredscopeError, ValueError):
    """Evaluation inputs or parameters that cannot be evaluated as asked."""

    code = "evaluation_error"


class SignatureError(PredscopeError):
    """A request whose Encord-style signature is missing, malformed, stale or does not verify.

    ``reason`` names which check failed (``malformed``, ``digest``, ``signature``, ``stale``,
    ``missing``) so a server can log it while the client only learns it was refused.
    """

    code = "bad_signature"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class LabelRowConflictError(PredscopeError):
    """A save over a label row that another writer saved after this row was read (lost update)."""

    code = "label_row_conflict"


class IdTypeWarning(UserWarning):
    """A file writes the same id as a number in one place and as a string in another; predscope
    reads them as one id (as faster-coco-eval does) and names the places."""

    code = "id_type_mismatch"


class AnalysisRunningError(PredscopeError):
    """Another live process is analysing the same prediction set; wait for it to finish."""

    code = "analysis_running"


class AuthenticationError(PredscopeError):
    """A request to a server that requires a token came without a valid one."""

    code = "unauthorized"


class RequestTooLargeError(PredscopeError):
    """A request body over the server's size limit."""

    code = "request_too_large"


class ServerConfigError(PredscopeError):
    """``predscope serve`` settings that would make the server unsafe or cannot work."""

    code = "server_config"


class MissingDependencyError(PredscopeError):
    """An optional part of predscope needs a package that is not installed (an extra)."""

    code = "missing_dependency"


class SyncSourceError(PredscopeError):
    """The server a project is synced from refused or failed a request (key, project, network)."""

    code = "sync_source"


class SyncConflictError(PredscopeError):
    """A sync would overwrite labels that are not the source's: rows edited locally since the
    last sync, or a local project or branch the source does not own."""

    code = "sync_conflict"
