"""Can Qt start a window here? Checked before any QApplication exists, without importing Qt.

Qt aborts with a core dump and a misleading hint ("xcb-cursor0 is needed") when its platform plugin
cannot load. We find the plugin file in the PySide6 package folder, ask the dynamic loader (`ldd`)
which of its real dependencies are missing, and print the command that installs them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package) for what Qt's platform plugins need beyond Qt.
SYSTEM_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")
_SONAME = re.compile(r"^(?P<stem>lib.+?)\.so\.(?P<major>\d+)$")


@dataclass(frozen=True)
class PlatformCheck:
    """What we found about the Qt platform plugin the app will use; `problem` is None when it can start."""

    platform: str
    plugin: Path | None
    missing: tuple[str, ...] = ()
    problem: str | None = None
    hints: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.problem is None

    def message(self) -> str:
        """The lines a user reads: what is wrong and the command that fixes it."""
        return "\n".join(line for line in (self.problem, *self.hints) if line)


def requested_platform(environ: Mapping[str, str] = os.environ) -> str:
    """The platform Qt will try first: QT_QPA_PLATFORM (its first choice), else wayland in a Wayland session, else
    xcb (Qt 6's order on Linux)."""
    asked = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if asked:
        return asked
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def plugin_dirs(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Folders Qt searches for platform plugins: QT_QPA_PLATFORM_PLUGIN_PATH, then PySide6's own (found without
    importing it)."""
    dirs = [Path(p) for p in environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    dirs += [Path(p) / "platforms" for p in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec("PySide6")
    for location in (spec.submodule_search_locations or []) if spec else []:
        dirs.append(Path(location) / "Qt" / "plugins" / "platforms")
    return dirs


def find_plugin(platform: str, dirs: list[Path]) -> Path | None:
    for folder in dirs:
        candidate = folder / f"libq{platform}.so"
        if candidate.is_file():
            return candidate
    return None


def missing_libraries(library: Path, environ: Mapping[str, str] = os.environ) -> tuple[str, ...] | None:
    """Sonames the dynamic loader cannot find for `library` (its dependencies and theirs), read with ldd;
    None when ldd is not available."""
    ldd = shutil.which("ldd", path=environ.get("PATH"))
    if ldd is None:
        return None
    result = subprocess.run([ldd, str(library)], capture_output=True, text=True, env=dict(environ), check=False)
    missing: list[str] = []
    for line in result.stdout.splitlines():
        if (match := _NOT_FOUND.match(line)) and match.group(1) not in missing:
            missing.append(match.group(1))
    return tuple(missing)


def install_commands(sonames: tuple[str, ...] | list[str]) -> tuple[str, str]:
    """(apt-get command, dnf command) that install the packages holding these libraries."""
    debian: list[str] = []
    fedora: list[str] = []
    for soname in sonames:
        if soname in SYSTEM_PACKAGES:
            deb, rpm = SYSTEM_PACKAGES[soname]
        else:
            deb, rpm = debian_package_guess(soname), f"'{soname}()(64bit)'"  # dnf resolves a soname itself
        for packages, name in ((debian, deb), (fedora, rpm)):
            if name not in packages:
                packages.append(name)
    return f"sudo apt-get install {' '.join(debian)}", f"sudo dnf install {' '.join(fedora)}"


def debian_package_guess(soname: str) -> str:
    """Debian's naming policy for a library package: libfoo.so.1 -> libfoo1, libfoo-2.so.0 -> libfoo-2-0."""
    match = _SONAME.match(soname)
    if not match:
        return soname
    stem, major = match.group("stem"), match.group("major")
    return f"{stem}-{major}".lower() if stem[-1].isdigit() else f"{stem}{major}".lower()


def x_display_reachable(display: str) -> bool | None:
    """Whether a local X display (":0", "unix:0.0") accepts connections on its socket; None for a remote one."""
    match = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if match is None:
        return None  # host:N (ssh forwarding, TCP): let Qt try
    path = f"/tmp/.X11-unix/X{match.group(1)}"
    for address in ("\0" + path, path):  # Linux X servers listen on an abstract socket and on the file
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            try:
                sock.connect(address)
                return True
            except OSError:
                continue
    return False


def check_platform(environ: Mapping[str, str] = os.environ) -> PlatformCheck:
    """Whether Qt's platform plugin for this session can load, and what to do when it cannot."""
    platform = requested_platform(environ)
    if not sys.platform.startswith("linux"):
        return PlatformCheck(platform, None)  # Windows/macOS plugins have no system-library gaps to find
    dirs = plugin_dirs(environ)
    plugin = find_plugin(platform, dirs)
    if plugin is None:
        available = sorted({p.name[4:-3] for d in dirs if d.is_dir() for p in d.glob("libq*.so")})
        if not available:
            return PlatformCheck(platform, None)  # a Qt laid out differently: let Qt decide
        return PlatformCheck(
            platform,
            None,
            problem=f'protolabel: Qt has no "{platform}" platform plugin '
            f"(QT_QPA_PLATFORM); available: {', '.join(available)}.",
        )
    missing = missing_libraries(plugin, environ) or ()
    if missing:
        apt, dnf = install_commands(missing)
        unknown = [s for s in missing if s not in SYSTEM_PACKAGES]
        hints = (
            f"  missing: {', '.join(missing)}",
            "Install them with:",
            f"  Debian/Ubuntu: {apt}",
            f"  Fedora:        {dnf}",
            *(
                (f"  (not in our table: {', '.join(unknown)}; `apt-file search NAME` names its Debian package)",)
                if unknown
                else ()
            ),
            "Without a screen, QT_QPA_PLATFORM=offscreen needs none of them.",
        )
        return PlatformCheck(
            platform,
            plugin,
            missing,
            f'protolabel: Qt\'s "{platform}" platform plugin cannot load: '
            f"{len(missing)} system librar{'y is' if len(missing) == 1 else 'ies are'} missing.",
            hints,
        )
    no_screen_hint = (
        "Run it on a desktop, under `xvfb-run protolabel ...`, or with QT_QPA_PLATFORM=offscreen "
        "for a window nobody sees.",
    )
    if platform == "xcb" and not environ.get("DISPLAY"):
        return PlatformCheck(
            platform, plugin, problem="protolabel: no X display (DISPLAY is not set).", hints=no_screen_hint
        )
    if platform == "xcb" and x_display_reachable(environ["DISPLAY"]) is False:
        return PlatformCheck(
            platform,
            plugin,
            hints=no_screen_hint,
            problem=f"protolabel: no X server answers on DISPLAY={environ['DISPLAY']}.",
        )
    if platform == "wayland" and not environ.get("WAYLAND_DISPLAY"):
        return PlatformCheck(
            platform,
            plugin,
            problem="protolabel: no Wayland display (WAYLAND_DISPLAY is not set).",
            hints=("Unset QT_QPA_PLATFORM to use X11, or run it in a Wayland session.",),
        )
    return PlatformCheck(platform, plugin)
