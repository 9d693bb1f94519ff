"""External formats (Encord JSON, COCO, YOLO, Pascal VOC) to and from domain objects; no SQL."""
