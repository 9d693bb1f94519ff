"""External formats (Encord JSON, COCO, YOLO, Pascal VOC) to and from the domain objects. No database."""
