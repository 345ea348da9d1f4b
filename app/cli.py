"""The `protolabel` entry point: the headless subcommands plus `gui` (the default when no subcommand is given)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from protolabel.segmentation.cli import build_parser, run_command
from protolabel.segmentation.distribution import version

GUI_COMMAND_MODULE = "protolabel.app.gui_command"
APP_COMMAND_MODULES = (
    GUI_COMMAND_MODULE,
    "protolabel.app.doctor_command",
    "protolabel.app.install_desktop",
    "protolabel.app.self_test",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and run; `protolabel FOLDER` and a bare `protolabel` open the desktop app."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # answered before the subcommands' modules (numpy, pycocotools...) are imported
        print(f"protolabel {version()}")
        return 0
    parser = build_parser(extra_commands=APP_COMMAND_MODULES)
    parser.add_argument("--version", action="version", version=f"protolabel {version()}")
    commands = _subcommand_names(parser)
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help", "--version")):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    return run_command(args)


def _subcommand_names(parser) -> set[str]:
    for action in parser._subparsers._group_actions:  # argparse keeps its subparsers here
        if hasattr(action, "choices") and action.choices:
            return set(action.choices)
    return set()


if __name__ == "__main__":
    sys.exit(main())
