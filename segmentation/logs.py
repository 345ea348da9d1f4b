"""Protolabel's log file: one rotating file in the platform's user log folder, so a user who hits a bug has
something to send.

Every module logs through `logging.getLogger(__name__)`; `setup_logging` (called once by the command line
and the app) sends the project's records to the file, and to stderr with `--verbose`. What is logged: which
command or window ran, with which version, and every error a broad `except` catches, with its traceback.
Never image content, and no secrets: nothing here reads the environment beyond the log folder's variables.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_FILE_NAME = "protolabel.log"
MAX_BYTES = 2 << 20  # one file stays small enough to attach to an issue
BACKUP_COUNT = 3
# The loggers whose records go to the log file: the project's own, every module's `getLogger(__name__)`.
PROJECT_LOGGERS = ("protolabel",)
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

_handlers: list[logging.Handler] = []


def default_log_dir() -> Path:
    """$PROTOLABEL_LOG_DIR, else the platform's user log folder (XDG state home, ~/Library/Logs, LOCALAPPDATA)."""
    if env := os.environ.get("PROTOLABEL_LOG_DIR"):
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "protolabel" / "Logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "Protolabel"
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "protolabel" / "log"


def log_file_path() -> Path:
    """Where this process writes its log (the file may not exist yet)."""
    return default_log_dir() / LOG_FILE_NAME


def setup_logging(*, verbose: bool = False) -> Path | None:
    """Send the project's records to the rotating log file (and to stderr with `verbose`); idempotent.

    Returns the log file, or None when it cannot be written (a read-only home): the program runs on without
    a file, and `protolabel doctor` says why.
    """
    for handler in _handlers:
        for name in PROJECT_LOGGERS:
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    _handlers.clear()
    path = log_file_path()
    writable = log_file_problem(path) is None
    if writable:
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
        )
        file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        file_handler.setFormatter(logging.Formatter(FORMAT))
        _handlers.append(file_handler)
    if verbose:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        _handlers.append(stream)
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if verbose else logging.INFO)
        for handler in _handlers:
            logger.addHandler(handler)
    return path if writable else None


def log_file_problem(path: Path | None = None) -> str | None:
    """Why the log file cannot be appended to (found now, not at each record), or None when it can."""
    path = path or log_file_path()
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return f"{path} is not a regular file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None
