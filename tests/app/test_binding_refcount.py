"""The pinned Qt binding does not lower the reference count of None.

tests/app/test_long_session.py runs the real window for hundreds of image switches, but the app's own
objects add references to None as it goes (about 200 a switch), which would hide a binding that takes one
away per call. This probe counts over plain Qt calls alone, in a child process (an abort must not end the
test run). PySide6-Essentials 6.12.0 gives -200 on each of them; the pinned 6.11.3 gives 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).with_name("none_refcount_probe.py")


def test_qt_calls_that_return_nothing_leave_nones_reference_count_alone():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    lowered = {name: change for name, change in result["changes"].items() if change < 0}
    assert not lowered, f"the Qt binding lowers None's reference count over {result['calls']} calls: {lowered}"
