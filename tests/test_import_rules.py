"""segmentation/ must stay Qt-free, independent of app/ and layered (the import-linter contracts in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout  # Qt-free, and the layers of segmentation/


def test_headless_commands_do_not_load_qt():
    code = (
        "import sys; from protolabel.segmentation.cli import build_parser; build_parser(); "
        "import segmentation.engine, segmentation.commands.predict; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'app')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
