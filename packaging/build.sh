#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/protolabel/ from the project's venv, then run its self-test.
#   packaging/build.sh            (from anywhere; uses <repo>/.venv)
# PyInstaller is installed into the venv here, only for this script: it is no dependency of the app or tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="$ROOT/.venv/bin/python"
[ -x "$PYTHON" ] || { echo "build.sh: no venv at $ROOT/.venv (create it with the README's set-up command)" >&2; exit 2; }
cd "$ROOT"
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || "$PYTHON" -m pip install --quiet "pyinstaller>=6.10"
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/protolabel.spec
end=$(date +%s)
echo "built $ROOT/dist/protolabel in $((end - start)) s, $(du -sh "$ROOT/dist/protolabel" | cut -f1)"
if [ "${SKIP_SELF_TEST:-0}" != 1 ]; then
    "$ROOT/dist/protolabel/protolabel" --version
    "$ROOT/dist/protolabel/protolabel" self-test
fi
