"""The log file: a command run leaves one, an unexpected error's traceback lands in it, and a folder that
cannot hold it costs the command nothing."""

from __future__ import annotations

import argparse
import logging

import pytest

from protolabel.segmentation import cli, logs


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    folder = tmp_path / "logs"
    monkeypatch.setenv("PROTOLABEL_LOG_DIR", str(folder))
    yield folder
    logs.setup_logging()  # back to the session's folder, so no handler keeps a file of tmp_path open


def _args(command: str, func, **extra) -> argparse.Namespace:
    return argparse.Namespace(command=command, func=func, **extra)


def test_a_refused_command_is_logged_with_the_version(log_dir, capsys):
    def refuse(args):
        raise cli.CommandError("no such weights file: missing.pth")

    assert cli.run_command(_args("predict", refuse)) == 2
    text = (log_dir / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "protolabel" in text and " predict " in text
    assert "predict refused: no such weights file: missing.pth" in text
    assert "Traceback" not in capsys.readouterr().err  # the user still gets one line


def test_an_unexpected_error_leaves_its_traceback_in_the_log(log_dir):
    def broken(args):
        raise RuntimeError("a bug somewhere deep")

    with pytest.raises(RuntimeError):
        cli.run_command(_args("label", broken))
    text = (log_dir / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "label failed with an unexpected error" in text
    assert "Traceback (most recent call last)" in text and "RuntimeError: a bug somewhere deep" in text


def test_a_caught_error_logged_by_a_module_keeps_its_traceback(log_dir):
    logs.setup_logging()
    try:
        raise ValueError("bad pixel data")
    except ValueError:
        logging.getLogger("protolabel.segmentation.project.autolabel").exception("labelling img.png failed")
    text = (log_dir / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "ERROR segmentation.project.autolabel: labelling img.png failed" in text
    assert "ValueError: bad pixel data" in text


def test_verbose_also_writes_to_stderr_and_keeps_debug_records(log_dir, capsys):
    assert cli.run_command(_args("doctor", lambda args: 0, verbose=True)) == 0
    logging.getLogger("protolabel.segmentation.engine").debug("chose the torch backend")
    assert "chose the torch backend" in capsys.readouterr().err
    assert "chose the torch backend" in (log_dir / logs.LOG_FILE_NAME).read_text(encoding="utf-8")


def test_without_verbose_debug_records_stay_out(log_dir, capsys):
    cli.run_command(_args("doctor", lambda args: 0))
    logging.getLogger("protolabel.segmentation.engine").debug("chose the torch backend")
    assert "chose the torch backend" not in (log_dir / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert capsys.readouterr().err == ""


def test_a_log_folder_that_cannot_be_made_costs_the_command_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PROTOLABEL_LOG_DIR", str(blocker / "logs"))
    try:
        assert logs.setup_logging() is None
        assert logs.log_file_problem() is not None
        assert cli.run_command(_args("doctor", lambda args: 0)) == 0
    finally:
        monkeypatch.undo()
        logs.setup_logging()


def test_a_planted_link_is_not_followed(log_dir, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    log_dir.mkdir()
    (log_dir / logs.LOG_FILE_NAME).symlink_to(outside)
    assert logs.setup_logging() is None
    logging.getLogger("segmentation").error("anything")
    assert outside.read_text() == "keep me"


def test_verbose_is_accepted_after_every_subcommand():
    parser = cli.build_parser()
    assert parser.parse_args(["predict", "--verbose", "--weights", "w.pth", "x.png"]).verbose is True
    assert parser.parse_args(["export", "-v", "folder", "--out", "o.json"]).verbose is True
