"""COCO instance-segmentation files: export users can train on, import from other tools, validation."""

from protolabel.segmentation.coco.dataset import Category, CocoDataset, CocoImage
from protolabel.segmentation.coco.export import to_coco_dict, write_coco
from protolabel.segmentation.coco.reader import CocoFormatError, parse_coco, read_coco
from protolabel.segmentation.coco.validation import ValidationReport, validate_coco
from protolabel.segmentation.coco.yolact_config import (
    write_class_names,
    write_yolact_dataset_config,
    yolact_dataset_config,
)

__all__ = [
    "Category",
    "CocoDataset",
    "CocoFormatError",
    "CocoImage",
    "ValidationReport",
    "parse_coco",
    "read_coco",
    "to_coco_dict",
    "validate_coco",
    "write_class_names",
    "write_coco",
    "write_yolact_dataset_config",
    "yolact_dataset_config",
]
