"""What the PyInstaller bundle must carry beyond what its import analysis finds (read by protolabel.spec).

Plain Python (no PyInstaller import), so the tests can check the list without building a bundle.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

from namespace_tree import package_dirs

ROOT = Path(__file__).resolve().parents[1]
DATA_PACKAGES = ("protolabel.resources",)
# Subcommands are imported by name (protolabel.segmentation.cli / protolabel.app.cli), which import analysis
# cannot follow.
CODE_PACKAGES = ("protolabel.segmentation", "protolabel.app", "protolabel.resources")
METADATA = ("protolabel",)  # `protolabel --version` reads the distribution's metadata
# Native libraries a package loads by path (torchvision: torch.ops.load_library on _C_stable.so, which holds
# torchvision::nms), invisible to import analysis: copied beside the package's modules.
LOADED_BY_PATH = ("torchvision",)


def data_files(package: str) -> list[tuple[str, str]]:
    """(source file, destination folder in the bundle) for every non-Python file of `package`
    (an installed name: protolabel.resources is the repository's resources/, at protolabel/resources there)."""
    base = ROOT / package_dirs()[package]
    files = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            files.append((str(path), str(Path(*package.split(".")) / path.parent.relative_to(base))))
    return files


def datas() -> list[tuple[str, str]]:
    return [entry for package in DATA_PACKAGES for entry in data_files(package)]


def binaries() -> list[tuple[str, str]]:
    """(shared library, destination folder) for the top-level .so files of LOADED_BY_PATH packages."""
    found = []
    for package in LOADED_BY_PATH:
        spec = importlib.util.find_spec(package)
        for location in spec.submodule_search_locations if spec else []:
            found += [(str(path), package) for path in sorted(Path(location).glob("*.so"))]
    return found


def hidden_imports() -> list[str]:
    """Every module of our own packages."""
    names = []
    for package in CODE_PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}.")]
    return names
