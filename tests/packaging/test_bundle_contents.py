"""The cheap parts of packaging: the PyInstaller spec's data and import lists, the bundle's `-m` entry, --version.
(The bundle build itself, packaging/build.sh, is too heavy for the test suite.)"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from protolabel.app import cli
from protolabel.app.main_window import TOOLBAR_ACTIONS
from protolabel.segmentation.cli import HEADLESS_COMMANDS

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))
import bundle_contents  # noqa: E402


def test_spec_carries_every_resource_file():
    bundled = {Path(dest) / Path(src).name for src, dest in bundle_contents.datas()}
    expected = {
        Path("protolabel", "resources") / p.relative_to(ROOT / "resources")
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert bundled == expected
    for must in (
        "coco_classes.json",
        "palette.json",
        "icons/app/protolabel.svg",
        "icons/app/protolabel-512.png",
        "desktop/io.github.protolabel.Protolabel.desktop",
        *(f"icons/actions/{a}.svg" for a in TOOLBAR_ACTIONS if a),
    ):
        assert Path("protolabel", "resources", must) in bundled
    spec = (PACKAGING / "protolabel.spec").read_text()
    assert "bundle_contents.datas()" in spec and "bundle_contents.hidden_imports()" in spec


def test_spec_imports_the_commands_that_are_loaded_by_name():
    hidden = set(bundle_contents.hidden_imports())
    assert {f"protolabel.segmentation.commands.{c}" for c in HEADLESS_COMMANDS} <= hidden
    assert set(cli.APP_COMMAND_MODULES) <= hidden and "protolabel.resources" in hidden


def test_spec_carries_torchvision_ops_library_loaded_by_path():
    """Without it the bundle has no torchvision::nms (found by the first bundle's self-test)."""
    import torchvision.extension

    assert torchvision.extension._has_ops()  # the library the spec must carry is the one this venv uses
    names = {(Path(src).name, dest) for src, dest in bundle_contents.binaries()}
    assert ("_C_stable.so", "torchvision") in names or ("_C.so", "torchvision") in names
    assert "bundle_contents.binaries()" in (PACKAGING / "protolabel.spec").read_text()


def test_bundle_entry_runs_modules_like_python_m():
    """The app starts training as `<sys.executable> -m protolabel.segmentation.cli train`; in a bundle that is
    this entry."""
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "protolabel_main.py"), "-m", "protolabel.segmentation.cli", "train", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0 and "usage: " in result.stdout and "train" in result.stdout


def test_version_is_the_projects(capsys):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"protolabel {version}"
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "--version" in capsys.readouterr().out
