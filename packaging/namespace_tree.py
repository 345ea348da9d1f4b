"""The installed layout (protolabel.app, protolabel.segmentation, protolabel.resources) as a folder of links to
the repository's top-level folders, for the tools that find packages by path instead of through the editable
install's import hook: import-linter, mypy and PyInstaller's analysis.

    python packaging/namespace_tree.py     # prints the folder to put on PYTHONPATH / mypy_path

The mapping is read from pyproject.toml's [tool.setuptools.package-dir], the one place it is written.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "namespace"  # build/ is ignored by git


def package_dirs(root: Path = ROOT) -> dict[str, str]:
    """{installed package name: folder in the repository}, e.g. {"protolabel.app": "app"}."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(config["tool"]["setuptools"]["package-dir"])


def namespace_tree(root: Path = ROOT, tree: Path = TREE) -> Path:
    """Make (or refresh) `tree`/protolabel/<name> -> <folder> links and return `tree`."""
    for package, folder in package_dirs(root).items():
        link = tree.joinpath(*package.split("."))
        link.parent.mkdir(parents=True, exist_ok=True)
        target = os.path.relpath(root / folder, link.parent)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    return tree


if __name__ == "__main__":
    print(namespace_tree())
    sys.exit(0)
