"""Dialogs: official models, class filter and mapping, COCO export."""
