"""What the PyInstaller bundle must carry beyond what its import analysis finds (read by protolabel.spec).

Plain Python (no PyInstaller import), so the tests can check the list without building a bundle.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_PACKAGES = ("resources",)
# Subcommands are imported by name (segmentation.cli / app.cli), which import analysis cannot follow.
CODE_PACKAGES = ("segmentation", "app", "resources")
METADATA = ("protolabel",)  # `protolabel --version` reads the distribution's metadata


def data_files(package: str) -> list[tuple[str, str]]:
    """(source file, destination folder in the bundle) for every non-Python file of `package`."""
    base = ROOT / package
    files = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            files.append((str(path), str(Path(package) / path.parent.relative_to(base))))
    return files


def datas() -> list[tuple[str, str]]:
    return [entry for package in DATA_PACKAGES for entry in data_files(package)]


def hidden_imports() -> list[str]:
    """Every module of our own packages."""
    names = []
    for package in CODE_PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}.")]
    return names
