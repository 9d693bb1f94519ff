"""Data the SDK tests share (a module of its own: several conftest.py files exist)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data"
IMAGES = DATA / "skimage-images" / "images"

ONTOLOGY: dict[str, Any] = {
    "objects": [
        {
            "id": "1",
            "name": "box",
            "color": "#D33115",
            "shape": "bounding_box",
            "featureNodeHash": "Ym94MDAx",
            "required": False,
        },
        {
            "id": "2",
            "name": "mask",
            "color": "#E27300",
            "shape": "bitmask",
            "featureNodeHash": "bWFzazAx",
            "required": False,
        },
        {
            "id": "3",
            "name": "poly",
            "color": "#16406C",
            "shape": "polygon",
            "featureNodeHash": "cG9seTAx",
            "required": False,
        },
    ],
    "classifications": [
        {
            "id": "1",
            "featureNodeHash": "d2VhdGgx",
            "attributes": [
                {
                    "id": "1.1",
                    "name": "weather",
                    "type": "radio",
                    "featureNodeHash": "d2VhdGgy",
                    "required": False,
                    "options": [
                        {
                            "id": "1.1.1",
                            "label": "sunny",
                            "value": "sunny",
                            "featureNodeHash": "c3Vubnkx",
                            "options": [],
                        },
                        {
                            "id": "1.1.2",
                            "label": "rainy",
                            "value": "rainy",
                            "featureNodeHash": "cmFpbnkx",
                            "options": [],
                        },
                    ],
                }
            ],
        }
    ],
}

UNITS: list[dict[str, Any]] = [
    {"title": "a.jpg", "width": 64, "height": 48},
    {"title": "b.jpg", "width": 32, "height": 32},
    {"title": "c.jpg", "width": 40, "height": 30},
    {"title": "clip.mp4", "data_type": "video", "width": 16, "height": 8, "number_of_frames": 10},
]
