"""The version is written once, in pyproject.toml: the program reads it through one function, and the
AppStream metainfo, the changelog and the docs name the same one."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METAINFO = ROOT / "resources" / "desktop" / "io.github.protolabel.Protolabel.metainfo.xml"


def _project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_program_reports_pyprojects_version():
    from protolabel.segmentation.distribution import version

    assert version() == _project_version()


def test_only_segmentation_distribution_reads_the_installed_metadata():
    """One version function: no other module asks importlib.metadata for the version or the licence."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for package in ("app", "segmentation", "packaging")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"metadata\.(version|metadata)\(", path.read_text(encoding="utf-8"))
    )
    assert readers == ["segmentation/distribution.py"]


def test_metainfo_newest_release_is_pyprojects_version():
    releases = ET.parse(METAINFO).getroot().find("releases")
    assert releases is not None, "the metainfo lists no releases"
    newest = max(releases.findall("release"), key=lambda r: date.fromisoformat(r.get("date")))
    assert newest.get("version") == _project_version()


def test_changelog_newest_release_is_pyprojects_version():
    headings = re.findall(r"^## (\d+\.\d+\.\d+)\b", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert headings and headings[0] == _project_version()


def test_versions_named_in_the_docs_are_pyprojects():
    """Container images and other `protolabel…:X.Y.Z` references in the README and docs/ follow the version."""
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    named = {
        (page.name, v)
        for page in pages
        for v in re.findall(r"protolabel[\w-]*:(\d+\.\d+\.\d+)", page.read_text(encoding="utf-8"))
    }
    assert named, "no versioned reference found: update this test if the docs stopped naming one"
    assert {v for _, v in named} == {_project_version()}, named


def test_cpu_only_torch_command_installs_the_pinned_pair():
    """The troubleshooting page's CPU-only torch command names the versions pyproject pins."""
    pins = dict(re.findall(r'"(torch|torchvision)==([^"]+)"', (ROOT / "pyproject.toml").read_text()))
    page = (ROOT / "docs" / "troubleshooting.md").read_text()
    command = re.search(r"pip install (torch==\S+ torchvision==\S+)", page)
    assert command is not None
    assert command.group(1) == f"torch=={pins['torch']} torchvision=={pins['torchvision']}"
