"""Annotation formats other than COCO (labelme, YOLO segmentation, Pascal VOC, CVAT, YouTube-VIS), each read into
and written from the in-memory `CocoDataset`, so import and export share one path with COCO."""
