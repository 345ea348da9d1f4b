"""One import namespace: the repository's app/, segmentation/ and resources/ install as protolabel.*, so a
package named `app` (or `resources`) from another distribution neither breaks Protolabel nor is broken by it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
from namespace_tree import namespace_tree, package_dirs  # noqa: E402


def _listed_packages() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_installed_under_protolabel():
    found = set()
    for package, folder in package_dirs().items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found == _listed_packages()
    assert all(name.startswith("protolabel.") for name in found)


def test_the_link_tree_mirrors_the_installed_layout(tmp_path):
    tree = namespace_tree(tree=tmp_path / "tree")
    assert (tree / "protolabel" / "segmentation" / "engine.py").resolve() == ROOT / "segmentation" / "engine.py"
    assert (tree / "protolabel" / "resources" / "coco_classes.json").is_file()
    assert namespace_tree(tree=tmp_path / "tree") == tree  # made again: the same links, no error


@pytest.mark.slow
def test_the_wheel_installs_beside_another_package_named_app(tmp_path, built_wheel):
    wheel = built_wheel
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        tops = {Path(name).parts[0] for name in archive.namelist()}
        archive.extractall(site)
    assert {top for top in tops if not top.endswith(".dist-info")} == {"protolabel"}
    for foreign in ("app", "resources"):  # what another distribution could install
        (site / foreign).mkdir()
        (site / foreign / "__init__.py").write_text(f"WHO = 'the other {foreign}'\n")
    code = (
        "import app, resources, protolabel.app.cli as cli, protolabel.resources as r; "
        "import protolabel.segmentation.yolact.classes as c; "
        "print(app.WHO); print(resources.WHO); print(cli.__file__); print(len(c.COCO_CLASSES)); "
        "print(r.action_icon_path('undo'))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(site)!r}]; {code}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == ["the other app", "the other resources"]
    assert lines[2].startswith(str(site / "protolabel" / "app")) and lines[3] == "80"
    assert lines[4].startswith(str(site / "protolabel" / "resources"))
