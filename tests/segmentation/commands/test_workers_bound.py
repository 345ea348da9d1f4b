"""`--workers 1000` started hundreds of processes (issue 20): the count is bounded by the machine's cores,
and the cut is said in one line."""

from __future__ import annotations

import pytest

import protolabel.segmentation.cli as cli


@pytest.mark.parametrize("command", ["predict", "label", "train"])
def test_workers_beyond_the_cores_are_cut_to_the_cores_with_one_line(command, monkeypatch, capsys):
    monkeypatch.setattr(cli, "machine_cores", lambda: 3)
    argv = {
        "predict": ["predict", "--weights", "w.pth", "x.png"],
        "label": ["label", "--weights", "w.pth", "--out", "o.json", "folder"],
        "train": ["train", "--coco", "c.json", "--images", "i", "--weights", "w.pth", "--out", "run"],
    }[command]
    parser = cli.build_parser()
    args = parser.parse_args([*argv, "--workers", "1000"])
    assert args.workers == 3
    assert capsys.readouterr().err == "protolabel: --workers 1000 is more than the 3 CPU cores here; using 3\n"
    assert parser.parse_args([*argv, "--workers", "2"]).workers == 2
    assert capsys.readouterr().err == ""
