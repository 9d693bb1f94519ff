"""``ImportReport``: what any import (COCO, YOLO, VOC, Encord) wrote, or would write.

One type for every format, so the CLI prints it, ``--json`` dumps it, the import record stores it
and the server returns it the same way whatever was imported. Fields a format has no use for stay
at their defaults (a YOLO import has no ``label_rows``; an Encord import no ``mapping``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from predscope.formats.coco_mapping import MappingReport

__all__ = ["ImportReport", "ImportedRow"]


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """One Encord label row an import wrote: where it came from and where it went."""

    source: str
    index: int
    data_title: str
    data_hash: str
    branch_name: str
    objects: int
    classifications: int
    replaced: bool


@dataclass
class ImportReport:
    """What an import wrote (or, with ``dry_run``, would write), and how it matched the input.

    >>> ImportReport(source="p.json", branch_name="m", annotations=2, objects=2, rows=1).objects
    2
    """

    source: str
    branch_name: str
    format: str = "coco"
    ground_truth: bool = False
    dry_run: bool = False
    mode: str = "new"  # new, replace or append (see ImportOptions)
    replaced: bool = False
    sha256: str = ""
    kind: str = ""
    annotations: int = 0
    objects: int = 0
    classifications: int = 0
    rows: int = 0
    clipped: int = 0
    missing_scores: int = 0
    per_class: dict[str, int] = field(default_factory=dict)
    skipped_categories: dict[str, int] = field(default_factory=dict)
    skipped_images: dict[str, int] = field(default_factory=dict)
    skipped_attributes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    mapping: MappingReport = field(default_factory=MappingReport)
    mapping_source: str = "file"
    files: list[str] = field(default_factory=list)
    label_rows: list[ImportedRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def branches(self) -> dict[str, dict[str, int]]:
        """Encord imports: per branch, rows, objects, classifications and rows replaced."""
        out: dict[str, dict[str, int]] = {}
        for row in self.label_rows:
            counts = out.setdefault(
                row.branch_name, {"rows": 0, "objects": 0, "classifications": 0, "replaced": 0}
            )
            counts["rows"] += 1
            counts["objects"] += row.objects
            counts["classifications"] += row.classifications
            counts["replaced"] += int(row.replaced)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (``--json`` output and the stored import record)."""
        skip = {"mapping", "label_rows"}
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}
        out["mapping"] = {
            "counts": self.mapping.counts(),
            "categories": [
                {
                    "id": m.coco_id,
                    "name": m.name,
                    "how": m.how,
                    "object": m.target.title if m.target else None,
                    "feature_hash": m.target.feature_hash if m.target else None,
                    "reason": m.reason,
                }
                for m in self.mapping.categories
            ],
            "unmatched_images": [
                {"id": m.coco_id, "file_name": m.file_name, "how": m.how, "reason": m.reason}
                for m in self.mapping.unmatched_images
            ],
        }
        out["branches"] = self.branches
        out["label_rows"] = [asdict(r) for r in self.label_rows]
        return out

    def summary_lines(self) -> list[str]:
        """The text report: the header, then what was matched, skipped, clipped and warned."""
        if self.format == "encord":
            return self._encord_lines()
        verb = "would write" if self.dry_run else "wrote"
        lines = [
            f"{self.source}: {self.annotations} annotations ({self.kind or self.format}) -> "
            f"branch {self.branch_name!r}: {verb} {self.objects} objects in {self.rows} rows"
            + self._mode_note(),
        ]
        counts = self.mapping.counts()
        lines.append(
            f"categories: {counts['categories_matched']} matched, "
            f"{counts['categories_unmatched']} unmatched; images: {counts['images_matched']} "
            f"matched, {counts['images_unmatched']} unmatched (from {self.mapping_source})"
        )
        lines += [f"warning: {w}" for w in self.warnings]
        if self.clipped:
            lines.append(f"clipped to the image: {self.clipped} objects")
        if self.missing_scores:
            lines.append(f"no score (confidence 1.0): {self.missing_scores} objects")
        for label, n in self.skipped_categories.items():
            lines.append(f"skipped, unknown category {label}: {n} annotations")
        for label, n in self.skipped_images.items():
            lines.append(f"skipped, unknown image {label}: {n} annotations")
        for label, n in self.skipped_attributes.items():
            lines.append(f"skipped, unknown attribute {label}: {n} annotations")
        lines += [f"  {name}: {n}" for name, n in sorted(self.per_class.items())]
        return lines

    def _mode_note(self) -> str:
        if self.replaced:
            return (
                " (would replace the branch's labels)"
                if self.dry_run
                else (" (replaced the branch's labels)")
            )
        if self.mode == "append":
            return " (added to the branch's labels)"
        return ""

    def _encord_lines(self) -> list[str]:
        verb = "would write" if self.dry_run else "wrote"
        branches = self.branches
        lines = [
            f"{self.source}: {self.annotations} label rows (encord) -> branch "
            f"{self.branch_name!r}: {verb} {self.rows} rows with {self.objects} objects and "
            f"{self.classifications} classifications" + self._mode_note()
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        for name, c in branches.items():
            lines.append(
                f"  {name}: {c['rows']} rows ({c['replaced']} replaced), {c['objects']} objects, "
                f"{c['classifications']} classifications"
            )
        return lines
