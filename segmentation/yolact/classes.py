"""COCO class names in the official models' output order, and their COCO category ids (spec section 12);
the YouTube-VIS names of the YolactEdge video models.

The lists themselves are data: resources/coco_classes.json and youtube_vis_classes.json, read once here.
"""

from collections.abc import Iterable

from protolabel.resources import coco_categories, youtube_vis_classes

COCO_CATEGORY_IDS: tuple[int, ...] = tuple(category_id for category_id, _ in coco_categories())
COCO_CLASSES: tuple[str, ...] = tuple(name for _, name in coco_categories())

assert len(COCO_CLASSES) == len(COCO_CATEGORY_IDS) == 80

YOUTUBE_VIS_CLASSES: tuple[str, ...] = youtube_vis_classes()  # YolactEdge video models (yolactedge spec, section 1)

assert len(YOUTUBE_VIS_CLASSES) == 40


def category_ids_for_labels(labels: Iterable[str]) -> tuple[int, ...]:
    """COCO category ids for `labels`: the official ids when every label is a COCO class name
    (31 is 'handbag', 35 'skis', as `predict` writes for a COCO model), else 1..N in order.

    The one rule behind `label` (for a COCO-trained model) and the project export."""
    by_name = dict(zip(COCO_CLASSES, COCO_CATEGORY_IDS))
    labels = tuple(labels)
    if labels and all(label in by_name for label in labels):
        return tuple(by_name[label] for label in labels)
    return tuple(range(1, len(labels) + 1))
