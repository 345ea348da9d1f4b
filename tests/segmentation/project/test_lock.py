"""One writer per folder: the lock is checked with a second, real process (held, refused, released by a crash)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from protolabel.segmentation.project.lock import FolderLock, FolderLockedError, lock_path

HOLDER = textwrap.dedent("""
    import sys
    from protolabel.segmentation.project.lock import FolderLock
    lock = FolderLock.acquire(sys.argv[1], program="holder-test")
    print("held", flush=True)
    sys.stdin.readline()  # hold until told (or killed)
    lock.release()
    print("released", flush=True)
""")


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / ".protolabel").mkdir()
    return tmp_path


def start_holder(folder: Path) -> subprocess.Popen:
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_is_refused_with_the_holders_pid_and_host(folder):
    holder = start_holder(folder)
    try:
        with pytest.raises(FolderLockedError) as caught:
            FolderLock.acquire(folder)
        assert caught.value.holder.pid == holder.pid
        assert caught.value.holder.host == socket.gethostname()
        message = str(caught.value)
        assert f"pid {holder.pid}" in message and "holder-test" in message and str(folder) in message
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        holder.wait(10)
    with FolderLock.acquire(folder) as lock:  # released: free again
        assert lock.held


def test_a_crashed_holder_does_not_block(folder):
    holder = start_holder(folder)
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    assert str(holder.pid) in lock_path(folder).read_text()  # its stale file is still there ...
    lock = FolderLock.acquire(folder)  # ... and does not block
    assert str(os.getpid()) in lock_path(folder).read_text()
    lock.release()


def test_two_locks_in_one_process_conflict_and_release_is_idempotent(folder):
    first = FolderLock.acquire(folder)
    with pytest.raises(FolderLockedError) as caught:
        FolderLock.acquire(folder)
    assert caught.value.holder.pid == os.getpid()
    first.release()
    first.release()
    assert not first.held
    FolderLock.acquire(folder).release()


def test_other_folders_are_independent(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for f in (a, b):
        (f / ".protolabel").mkdir(parents=True)
    with FolderLock.acquire(a), FolderLock.acquire(b):
        pass
