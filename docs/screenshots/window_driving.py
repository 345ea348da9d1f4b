"""Driving the real window from the screenshot scripts: the app's own event-loop helpers, under the names they use."""

from __future__ import annotations

from app.event_loop import settle
from app.event_loop import wait_until as wait

__all__ = ["settle", "wait"]
