"""Ctrl+C in the terminal or SIGTERM closes the window the normal way (jobs stopped, project closed), not
with a KeyboardInterrupt inside some event handler or an instant death.

The tests call the handler Python would run for the signal rather than sending one to the test process:
a process in which native libraries ran (OpenVINO's threads, elsewhere in the suite) can be left with a
signal stack on which any handler crashes. The real signals were checked on the real window (docs/troubleshooting.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from protolabel.app.termination import TerminationSignals


def deliver(number: int) -> None:
    """What the interpreter does when `number` arrives: call the handler installed for it."""
    signal.getsignal(number)(number, None)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_termination_signal_closes_the_window_the_normal_way(make_window, photo_folder, qtbot, number):
    window = make_window()
    assert window.open_folder(photo_folder)
    before = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    termination = TerminationSignals(window)
    termination.install()
    try:
        deliver(number)  # no KeyboardInterrupt here: the handler only asks the window to close
        deliver(number)  # a second one while closing changes nothing
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    finally:
        termination.restore()
    assert window.projects.project is None  # the window's own shutdown ran: the project is closed
    assert termination.received == number and termination.exit_code(0) == 128 + number
    assert {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)} == before


def test_without_a_signal_the_exit_code_is_qts(make_window):
    termination = TerminationSignals(make_window())
    termination.install()
    termination.restore()
    assert termination.received is None and termination.exit_code(3) == 3


def test_a_signal_ignored_at_start_stays_ignored():
    # A background job of a non-interactive shell starts with SIGINT ignored: Ctrl+C meant for the shell's
    # foreground must not close the window.
    code = textwrap.dedent("""
        import os, signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from PySide6.QtWidgets import QApplication, QWidget
        from protolabel.app.termination import TerminationSignals
        app = QApplication([])
        window = QWidget()
        termination = TerminationSignals(window)
        termination.install()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        termination.restore()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        print("ok")
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_an_open_question_is_cancelled_before_the_window_closes(make_window, photo_folder, qtbot):
    """Ctrl+C while a modal question waits: the question is answered as cancelled and the code behind it
    finishes with the window (and its project) still open; then the window closes."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    window = make_window()
    assert window.open_folder(photo_folder)
    seen = []

    def ask():
        answer = QMessageBox.question(window, "Delete class", "Delete the class 'cup'?")
        seen.append((answer, window.isVisible(), window.projects.project is not None))

    termination = TerminationSignals(window)
    termination.install()

    def interrupt():
        seen.append(QApplication.activeModalWidget() is not None)  # the question is open
        deliver(signal.SIGINT)

    try:
        QTimer.singleShot(0, ask)  # the question's own event loop runs from here on, with ask() waiting
        QTimer.singleShot(300, interrupt)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    finally:
        termination.restore()
    assert seen == [True, (QMessageBox.StandardButton.No, True, True)]
    assert window.projects.project is None
