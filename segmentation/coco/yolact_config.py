"""The class list of an export in the forms YOLACT training needs.

- `yolact_dataset_config`: a snippet for the original's `data/config.py` (a `dataset_base.copy`
  with `class_names` and a `label_map` from COCO category id to 1-based class index, plus a
  model config with `num_classes` = classes + background);
- `write_class_names`: a JSON list of names, the `<weights>.classes.json` sidecar our engine
  and trainer read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

from protolabel.segmentation.coco.dataset import Category
from protolabel.segmentation.files import atomic_write_text


def yolact_dataset_config(
    categories: Sequence[Category],
    *,
    name: str,
    train_images: str,
    train_info: str,
    valid_images: str | None = None,
    valid_info: str | None = None,
    base_config: str = "yolact_resnet50_config",
) -> str:
    """Python source defining `<name>_dataset` and `<name>_config` for YOLACT's data/config.py."""
    if not categories:
        raise ValueError("a YOLACT dataset needs at least one category")
    ident = re.sub(r"\W+", "_", name).strip("_").lower() or "custom"
    if ident[0].isdigit():
        ident = f"d_{ident}"
    class_names = ", ".join(repr(c.name) for c in categories)
    label_map = ", ".join(f"{c.id}: {i + 1}" for i, c in enumerate(categories))
    return (
        f"# YOLACT dataset and model config for {name!r}: paste into data/config.py, then train with\n"
        f"#   python train.py --config={ident}_config\n"
        f"{ident}_dataset = dataset_base.copy({{\n"
        f"    'name': {name!r},\n"
        f"    'train_images': {train_images!r},\n"
        f"    'train_info': {train_info!r},\n"
        f"    'valid_images': {valid_images or train_images!r},\n"
        f"    'valid_info': {valid_info or train_info!r},\n"
        f"    'has_gt': True,\n"
        f"    'class_names': ({class_names},),\n"
        f"    # COCO category id -> 1-based class index\n"
        f"    'label_map': {{{label_map}}},\n"
        f"}})\n\n"
        f"{ident}_config = {base_config}.copy({{\n"
        f"    'name': '{ident}',\n"
        f"    'dataset': {ident}_dataset,\n"
        f"    'num_classes': len({ident}_dataset.class_names) + 1,  # + background\n"
        f"}})\n"
    )


def write_yolact_dataset_config(path: str | os.PathLike, categories: Sequence[Category], **kwargs) -> None:
    """Write `yolact_dataset_config(categories, **kwargs)` to `path` atomically."""
    atomic_write_text(path, yolact_dataset_config(categories, **kwargs))


def write_class_names(path: str | os.PathLike, categories: Sequence[Category]) -> None:
    """Write the class names in category order as a JSON list (the checkpoint sidecar format)."""
    atomic_write_text(path, json.dumps([c.name for c in categories], ensure_ascii=False, indent=1) + "\n")
