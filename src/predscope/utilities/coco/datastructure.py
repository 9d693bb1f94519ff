"""``FrameIndex`` at the path Encord's SDK uses (``encord.utilities.coco.datastructure``).

Scripts written for Encord build ``image_id -> FrameIndex(data_hash, frame=0)`` maps by hand and
pass them to ``Project.import_coco_labels``; keeping the class here lets them port unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FrameIndex"]


@dataclass(frozen=True)
class FrameIndex:
    """Where a COCO image lands: a data unit and a frame in it (0 for single images)."""

    data_hash: str
    frame: int = 0
