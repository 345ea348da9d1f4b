"""Dock widgets around the canvas (file list, objects, auto-label settings); the inspector joins them later."""
