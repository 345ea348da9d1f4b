"""`protolabel doctor [FOLDER]`: the Qt-free checks of segmentation.commands.doctor plus Qt's platform plugin."""

from __future__ import annotations

import argparse
import os

from protolabel.segmentation.commands import doctor
from protolabel.segmentation.commands.doctor import Finding, Status


def add_parser(subparsers) -> None:
    doctor.add_parser(subparsers).set_defaults(func=run)


def qt_platform_findings() -> list[Finding]:
    """The platform plugin Qt will load (without importing Qt) and the display it will open windows on."""
    from protolabel.app.system_check import check_platform

    check = check_platform()
    where = f" ({check.plugin})" if check.plugin else ""
    if not check.ok:
        return [Finding("Qt platform", Status.FAIL, f'"{check.platform}"{where}', tuple(check.message().splitlines()))]
    display = {
        "xcb": f"DISPLAY={os.environ.get('DISPLAY')}",
        "wayland": f"WAYLAND_DISPLAY={os.environ.get('WAYLAND_DISPLAY')}",
    }.get(check.platform, "no window is shown")
    return [Finding("Qt platform", Status.OK, f'"{check.platform}"{where}, {display}')]


def run(args: argparse.Namespace) -> int:
    return doctor.run(args, extra_checks=(qt_platform_findings,))
