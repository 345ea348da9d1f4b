"""segmentation/ must stay Qt-free, independent of app/ and layered (the import-linter contracts in pyproject.toml)."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "packaging"))
from namespace_tree import namespace_tree  # noqa: E402


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    # import-linter finds packages by path: the installed layout as links (packaging/namespace_tree.py)
    env = {**os.environ, "PYTHONPATH": str(namespace_tree())}
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout  # Qt-free, and the layers of segmentation/ and of app/


def test_headless_commands_do_not_load_qt():
    code = (
        "import sys; from protolabel.segmentation.cli import build_parser; build_parser(); "
        "import protolabel.segmentation.engine, protolabel.segmentation.commands.predict; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PySide6' or m.startswith('protolabel.app')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
