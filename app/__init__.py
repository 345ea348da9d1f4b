"""The PySide6 desktop app: views and controllers over the Qt-free models in `segmentation.project`.

Importing this package imports no Qt: the headless CLI goes through `app.cli` too.
"""
