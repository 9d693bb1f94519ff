"""COCO helpers at the path Encord's SDK uses, so ported scripts import them unchanged."""
