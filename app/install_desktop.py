"""`protolabel install-desktop`: put the desktop entry, icons and AppStream metainfo in the user's XDG data folder,
so Protolabel appears in the application menu and in "Open With" for folders. Qt-free.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from protolabel.resources import APP_ICON_SIZES, APP_ID, app_icon_path, resource
from protolabel.segmentation.files import atomic_write_bytes, atomic_write_text


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "install-desktop",
        help="add Protolabel to this user's application menu (XDG desktop entry and icon)",
        description="Install the desktop entry, icons and AppStream metainfo under $XDG_DATA_HOME "
        "(default ~/.local/share), for this user only.",
    )
    parser.add_argument("--uninstall", action="store_true", help="remove what install-desktop installed")
    parser.set_defaults(func=run)


def data_home(environ: Mapping[str, str] = os.environ) -> Path:
    """$XDG_DATA_HOME when it is an absolute path (the spec says to ignore a relative one), else ~/.local/share."""
    value = environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """The command that starts this installation of Protolabel: the bundle's executable, the `protolabel` script
    of this environment, or this Python running app.cli."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).with_name("protolabel")  # the venv/bin script next to this interpreter
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "protolabel.app.cli"]


def desktop_exec(command: list[str]) -> str:
    """An Exec= value: each argument quoted as the desktop entry spec asks, then the folder field code."""

    def quote(arg: str) -> str:
        if not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`="):
            return arg
        return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'

    return " ".join(quote(a) for a in command) + " %f"


def desktop_entry(command: list[str]) -> str:
    """The packaged entry with Exec= pointing at this installation (a menu has no PATH of a venv)."""
    template = resource("desktop", f"{APP_ID}.desktop").read_text(encoding="utf-8")
    lines = [f"Exec={desktop_exec(command)}" if line.startswith("Exec=") else line for line in template.splitlines()]
    return "\n".join(lines) + "\n"


def installed_files(home: Path) -> dict[Path, bytes | str]:
    """Destination path -> content, for everything install-desktop writes."""
    files: dict[Path, bytes | str] = {
        home / "applications" / f"{APP_ID}.desktop": desktop_entry(launcher_command()),
        home / "metainfo" / f"{APP_ID}.metainfo.xml": resource("desktop", f"{APP_ID}.metainfo.xml").read_text(
            encoding="utf-8"
        ),
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": app_icon_path().read_bytes(),
    }
    for size in APP_ICON_SIZES:
        files[home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = app_icon_path(
            size
        ).read_bytes()
    return files


def refresh_caches(home: Path) -> None:
    """Let menus notice at once where the tools exist; without them desktops rescan on their own."""
    for tool, target in (
        ("update-desktop-database", home / "applications"),
        ("gtk-update-icon-cache", home / "icons" / "hicolor"),
    ):
        if shutil.which(tool) and target.is_dir():
            extra = ["-f", "-t"] if tool == "gtk-update-icon-cache" else []
            subprocess.run([tool, "-q", *extra, str(target)], check=False, capture_output=True)


def run(args: argparse.Namespace) -> int:
    home = data_home()
    files = installed_files(home)
    if args.uninstall:
        removed = [path for path in files if path.is_file()]
        for path in removed:
            path.unlink()
        refresh_caches(home)
        print(f"removed {len(removed)} file(s) from {home}")
        return 0
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                atomic_write_bytes(path, content)
            else:
                atomic_write_text(path, content)
    except OSError as exc:
        print(
            f"protolabel install-desktop: cannot write under {home}: {exc.strerror} ({exc.filename})", file=sys.stderr
        )
        return 2
    refresh_caches(home)
    entry = home / "applications" / f"{APP_ID}.desktop"
    print(f"installed {entry} (Exec={desktop_exec(launcher_command())}), its icon and metainfo under {home}")
    print(f"the menu entry starts: {shlex.join(launcher_command())}")
    return 0
