"""The bundle's entry point: `protolabel` as installed, plus `-m MODULE ...` as `python -m` would run it.

The app starts fine-tuning as `<python> -m protolabel.segmentation.cli train ...` with sys.executable, which in a bundle
is this program; handling `-m` here keeps that one code path working in both.
"""

import multiprocessing
import runpy
import sys


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from protolabel.app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
