"""The Qt platform check that runs before any QApplication: missing libraries read from the plugin's real
dependencies (ldd), the apt/dnf commands, QT_QPA_PLATFORM honoured, and `protolabel` exiting cleanly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from protolabel.app import system_check
from protolabel.app.system_check import (
    check_platform,
    debian_package_guess,
    install_commands,
    requested_platform,
    x_display_reachable,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("ldd") is None, reason="reads ELF plugins with ldd (Linux)"
)

QT_DIR = Path(system_check.plugin_dirs({})[-1]).parents[1]  # PySide6/Qt
REAL_XCB = QT_DIR / "plugins" / "platforms" / "libqxcb.so"
HIDDEN = b"libxcb-icccm.so.4\x00"
ABSENT = b"libxcb-icccm.so.9\x00"  # same length: a real ELF whose DT_NEEDED names a library no system has


@pytest.fixture
def broken_xcb_env(tmp_path) -> dict:
    """An environment whose xcb plugin (a copy of Qt's, one dependency renamed) needs a library that is missing."""
    data = REAL_XCB.read_bytes()
    assert data.count(HIDDEN) == 1
    platforms = tmp_path / "platforms"
    platforms.mkdir()
    (platforms / "libqxcb.so").write_bytes(data.replace(HIDDEN, ABSENT))
    # the copy lost its $ORIGIN/../../lib runpath: point the loader at Qt's own libraries
    return {
        "PATH": os.environ["PATH"],
        "QT_QPA_PLATFORM_PLUGIN_PATH": str(platforms),
        "LD_LIBRARY_PATH": str(QT_DIR / "lib"),
        "DISPLAY": ":99",
        "HOME": str(tmp_path),
    }


def test_missing_library_is_read_from_the_plugin_and_named_with_install_commands(broken_xcb_env):
    check = check_platform(broken_xcb_env)
    assert not check.ok and check.platform == "xcb"
    assert check.plugin == Path(broken_xcb_env["QT_QPA_PLATFORM_PLUGIN_PATH"]) / "libqxcb.so"
    assert "libxcb-icccm.so.9" in check.missing
    assert "libQt6XcbQpa.so.6" not in check.missing  # found through LD_LIBRARY_PATH, as the loader would
    message = check.message()
    assert "libxcb-icccm.so.9" in message
    assert "sudo apt-get install libxcb-icccm9" in message  # Debian's naming rule for a library not in the table
    assert "sudo dnf install 'libxcb-icccm.so.9()(64bit)'" in message  # dnf installs by soname


def test_offscreen_and_wayland_requests_do_not_need_the_xcb_plugin(broken_xcb_env):
    offscreen = check_platform({**broken_xcb_env, "QT_QPA_PLATFORM": "offscreen"})
    assert offscreen.ok and offscreen.plugin.name == "libqoffscreen.so"
    wayland = check_platform({**broken_xcb_env, "QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-0"})
    assert wayland.platform == "wayland" and "libxcb-icccm.so.9" not in wayland.message()


def test_gui_exits_with_the_message_before_qt_is_imported(broken_xcb_env):
    code = (
        "import sys; from protolabel.app.cli import main; rc = main(['gui']); "
        "print('QtWidgets imported:', 'PySide6.QtWidgets' in sys.modules); sys.exit(rc)"
    )
    env = {**broken_xcb_env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1, result.stderr  # Qt itself would abort (SIGABRT, -6)
    assert "QtWidgets imported: False" in result.stdout
    assert "libxcb-icccm.so.9" in result.stderr and "apt-get install" in result.stderr
    assert "dnf install" in result.stderr and "Traceback" not in result.stderr


def test_install_commands_use_the_distributions_package_names():
    apt, dnf = install_commands(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-randr.so.0", "libxcb.so.1"])
    assert apt == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-randr0 libxcb1"
    assert dnf == "sudo dnf install xcb-util-wm xcb-util-keysyms libxcb"  # Fedora's libxcb holds all core xcb


@pytest.mark.parametrize(
    "soname, package",
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11.so.6", "libx11-6"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libwayland-client.so.0", "libwayland-client0"),
    ],
)
def test_debian_guess_follows_debian_names(soname, package):
    assert debian_package_guess(soname) == package


def test_requested_platform_honours_qt_qpa_platform_then_the_session():
    assert requested_platform({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert requested_platform({"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    assert requested_platform({"QT_QPA_PLATFORM": "vnc:size=800x600"}) == "vnc"
    assert requested_platform({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert requested_platform({"DISPLAY": ":0"}) == "xcb"


def test_no_display_and_unknown_platform_are_reported(tmp_path):
    env = {"PATH": os.environ["PATH"]}
    if check_platform({**env, "DISPLAY": ":0"}).missing:
        pytest.skip("this machine lacks xcb libraries: the missing-library message comes first")
    assert "DISPLAY is not set" in check_platform(env).message()
    unknown = check_platform({**env, "QT_QPA_PLATFORM": "nosuch"})
    assert not unknown.ok and "offscreen" in unknown.message()  # lists the plugins there are


def test_a_local_x_display_must_answer_on_its_socket():
    """An abstract socket named like display 987's (no file is created) stands in for an X server."""
    display = ":987"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0/tmp/.X11-unix/X987")
    server.listen(1)
    try:
        assert x_display_reachable(display) is True and x_display_reachable(display + ".0") is True
    finally:
        server.close()
    assert x_display_reachable(display) is False
    assert x_display_reachable("remote-host:10.0") is None  # ssh forwarding, TCP: Qt finds out
    env = {"PATH": os.environ["PATH"], "DISPLAY": display}
    if not check_platform(env).missing:
        assert "no X server answers on DISPLAY=:987" in check_platform(env).message()


def test_without_ldd_the_check_lets_qt_decide(broken_xcb_env, tmp_path):
    check = check_platform({**broken_xcb_env, "PATH": str(tmp_path), "DISPLAY": "remote-host:0"})
    assert check.ok and check.missing == ()
