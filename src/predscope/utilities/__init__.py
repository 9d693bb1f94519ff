"""Encord-compatible import paths (``encord.utilities.coco.datastructure`` -> here)."""
