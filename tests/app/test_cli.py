"""The `protolabel` entry point: `gui` is the default command; headless commands never load Qt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from protolabel.app import cli


def test_folder_without_subcommand_opens_the_gui(monkeypatch, tmp_path):
    calls = []
    import protolabel.app.gui_command as gui_command

    monkeypatch.setattr(gui_command, "run", lambda args: calls.append(args) or 0)
    # set_defaults captured the original function: patch where the parser looks it up
    monkeypatch.setattr(cli, "build_parser", _parser_with(gui_command))
    assert cli.main([str(tmp_path), "--weights", "w.pth"]) == 0
    assert calls[-1].command == "gui" and calls[-1].folder == str(tmp_path) and calls[-1].weights == "w.pth"
    assert cli.main([]) == 0 and calls[-1].folder is None
    assert cli.main(["gui", str(tmp_path)]) == 0 and calls[-1].folder == str(tmp_path)


def _parser_with(gui_command):
    from protolabel.segmentation.cli import build_parser

    def build(extra_commands=()):
        parser = build_parser(extra_commands)
        for action in parser._subparsers._group_actions:
            action.choices["gui"].set_defaults(func=gui_command.run)
        return parser

    return build


def test_help_lists_gui_and_headless_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "gui" in out and "predict" in out


def test_headless_command_through_app_cli_does_not_import_qt():
    code = (
        "import sys; from protolabel.app.cli import main\n"
        "try:\n    main(['predict', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
