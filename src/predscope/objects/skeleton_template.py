"""Skeleton templates: the named points and edges a skeleton object is drawn from."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from predscope.exceptions import OntologyError


@dataclass(slots=True)
class SkeletonTemplate:
    """``feature_node_hash`` equals the skeleton object's hash; ``skeleton`` maps index -> point.

    The JSON mixes key styles (``skeletonEdges`` camelCase, ``feature_node_hash`` snake_case);
    ``to_dict`` writes them back the same way, with any extra keys kept.
    """

    name: str
    feature_node_hash: str
    width: float = 0.0
    height: float = 0.0
    skeleton: dict[str, dict[str, Any]] = field(default_factory=dict)
    skeleton_edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    shape: str = "skeleton"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.name

    def point_feature_hashes(self) -> list[str]:
        return [str(p.get("featureHash", "")) for p in self.skeleton.values()]

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "skeleton_templates") -> SkeletonTemplate:
        body = d.get("template", d) if isinstance(d, dict) else None
        if not isinstance(body, dict) or "feature_node_hash" not in body:
            raise OntologyError(f"{where}: a skeleton template needs 'feature_node_hash'")
        known = {
            "name",
            "feature_node_hash",
            "width",
            "height",
            "skeleton",
            "skeletonEdges",
            "shape",
        }
        return cls(
            name=str(body.get("name", "")),
            feature_node_hash=str(body["feature_node_hash"]),
            width=body.get("width", 0.0),
            height=body.get("height", 0.0),
            skeleton=copy.deepcopy(body.get("skeleton") or {}),
            skeleton_edges=copy.deepcopy(body.get("skeletonEdges") or {}),
            shape=str(body.get("shape", "skeleton")),
            extra={k: v for k, v in body.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "shape": self.shape,
            "skeleton": copy.deepcopy(self.skeleton),
            "skeletonEdges": copy.deepcopy(self.skeleton_edges),
            "feature_node_hash": self.feature_node_hash,
        }
        body.update(self.extra)
        return {"template": body}
