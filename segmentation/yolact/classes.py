"""COCO class names in the official models' output order, and their COCO category ids (spec section 12).

The list itself is data: resources/coco_classes.json, read once here.
"""

from resources import coco_categories

COCO_CATEGORY_IDS: tuple[int, ...] = tuple(category_id for category_id, _ in coco_categories())
COCO_CLASSES: tuple[str, ...] = tuple(name for _, name in coco_categories())

assert len(COCO_CLASSES) == len(COCO_CATEGORY_IDS) == 80


def category_ids_for_labels(labels, class_names=COCO_CLASSES, category_ids=COCO_CATEGORY_IDS) -> tuple[int, ...]:
    """COCO category ids for `labels` (one rule for `label`, `predict` and the project export).

    When every label is one of the model's classes, each keeps the model's own id, the one
    `predict` writes: the official COCO ids for a COCO-trained model (31 is 'skis', never
    'handbag'), 1..N in model order for a custom one. Otherwise (renamed or new labels) 1..N.
    """
    by_name = dict(zip(class_names, category_ids))
    labels = tuple(labels)
    if labels and all(label in by_name for label in labels):
        return tuple(by_name[label] for label in labels)
    return tuple(range(1, len(labels) + 1))
