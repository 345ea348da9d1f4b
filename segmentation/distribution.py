"""What the installed `protolabel` distribution says about itself: its version and licence.

`pyproject.toml` is the one place they are written; the installed metadata (a wheel, the editable
install or the bundle, which carries it too) is how the running program reads them. The command
line's --version, Help ▸ About and the tests read them here, and nowhere else.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "protolabel"
NOT_INSTALLED = "unknown (not installed)"


def version() -> str:
    """The installed distribution's version (pyproject's `project.version`), or a plain word when not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def licence() -> str:
    """The licence the installed distribution declares (pyproject's `license`)."""
    try:
        fields = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED
    return fields.get("License-Expression") or fields.get("License") or "unknown"
