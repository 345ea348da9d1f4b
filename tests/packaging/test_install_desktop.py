"""`protolabel install-desktop` into a temporary XDG data home: entry, icons, metainfo; --uninstall removes them."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from protolabel.app import cli
from protolabel.app.install_desktop import desktop_exec
from protolabel.resources import APP_ICON_SIZES, APP_ID


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def read_entry(path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_desktop_writes_entry_icons_and_metainfo_into_xdg_data_home(tmp_path, monkeypatch, capsys):
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    assert cli.main(["install-desktop"]) == 0
    entry = read_entry(home / "applications" / f"{APP_ID}.desktop")
    assert entry["Type"] == "Application" and entry["Name"] == "Protolabel"
    assert "inode/directory" in entry["MimeType"].split(";")  # "Open With" on folders
    command = shlex.split(entry["Exec"])
    assert command[-1] == "%f" and os.access(command[0], os.X_OK)  # an absolute launcher, not PATH's
    icon = entry["Icon"]
    for size in APP_ICON_SIZES:
        assert png_size(home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{icon}.png") == (size, size)
    svg = ET.parse(home / "icons" / "hicolor" / "scalable" / "apps" / f"{icon}.svg").getroot()
    assert svg.tag.endswith("svg")
    component = ET.parse(home / "metainfo" / f"{APP_ID}.metainfo.xml").getroot()
    assert component.findtext("launchable") == f"{APP_ID}.desktop" and component.findtext("id") == APP_ID
    assert str(home) in capsys.readouterr().out

    assert cli.main(["install-desktop", "--uninstall"]) == 0
    assert not any(p.is_file() and p.suffix in (".desktop", ".png", ".svg", ".xml") for p in home.rglob("*"))


def test_relative_xdg_data_home_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["install-desktop"]) == 0
    assert (tmp_path / ".local" / "share" / "applications" / f"{APP_ID}.desktop").is_file()
    assert not (tmp_path / "relative").exists()


def test_exec_quotes_paths_with_spaces_as_the_desktop_spec_asks():
    assert desktop_exec(["/opt/pro label/protolabel"]) == '"/opt/pro label/protolabel" %f'
    assert desktop_exec(["/usr/bin/python3", "-m", "protolabel.app.cli"]) == "/usr/bin/python3 -m protolabel.app.cli %f"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_installed_entry_passes_desktop_file_validate(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli.main(["install-desktop"]) == 0
    result = subprocess.run(
        ["desktop-file-validate", str(tmp_path / "applications" / f"{APP_ID}.desktop")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_installed_metainfo_passes_appstreamcli_validate(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli.main(["install-desktop"]) == 0
    metainfo = tmp_path / "metainfo" / f"{APP_ID}.metainfo.xml"
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
