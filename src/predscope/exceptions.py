"""Every error predscope raises on purpose, in one place.

The module path mirrors ``encord.exceptions``, so ``from encord.exceptions import OntologyError``
ports by changing the package name. Messages follow one rule: *where* (file, record, field), *what*
is wrong, and *what to do*. The CLI prints the message without a traceback and exits with 1.
"""

from __future__ import annotations


class PredscopeError(Exception):
    """Base for all expected, user-facing errors."""


class OntologyError(PredscopeError):
    """A title or hash lookup in the ontology found nothing, or more than one item."""


class LabelRowError(PredscopeError):
    """A label row was used in the wrong state (e.g. read before ``initialise_labels``)."""


class CoordinatesError(PredscopeError, ValueError):
    """Coordinates that cannot describe a real shape (NaN, out of range, degenerate, wrong size)."""


class FrameError(PredscopeError, ValueError):
    """A frame index or range outside the data unit."""


class AnswerError(PredscopeError, ValueError):
    """An attribute answer that does not fit the attribute (wrong type, unknown option)."""


class BranchNameError(PredscopeError, ValueError):
    """A branch name that breaks the naming rule."""


class InvalidArgumentsError(PredscopeError, ValueError):
    """Arguments that cannot be combined or are out of their domain."""


class ResourceNotFoundError(PredscopeError):
    """A project, data unit, branch or label row that does not exist."""


class ResourceExistsError(PredscopeError):
    """Creating something that already exists (a project title, a label row on a branch)."""


class StoreError(PredscopeError):
    """The store cannot be opened or written (locked, wrong schema version, unreachable)."""


class StoreBusyError(StoreError):
    """Another process held the store's write lock for longer than the busy timeout."""


class SchemaVersionError(StoreError):
    """The store was written by a newer predscope than this one."""


class MediaError(PredscopeError):
    """A media file that cannot be read for its metadata."""


class ImportFormatError(PredscopeError, ValueError):
    """Input data (COCO, Encord JSON, YOLO, VOC) that is malformed or does not fit the project.

    The message names the file, the record inside it and the field, so the user can find the line.
    """

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


class DuplicateImportError(PredscopeError):
    """The same file was already imported into the branch; pass ``replace`` to swap the labels."""


class EvaluationError(PredscopeError, ValueError):
    """Evaluation inputs or parameters that cannot be evaluated as asked."""
