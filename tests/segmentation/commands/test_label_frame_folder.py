"""`protolabel label FOLDER` on a project holding a frame folder: its frames are labelled as the image files
they are, under the names the project's sequence keys them by, so the file imports onto those frames."""

from __future__ import annotations

import json

from protolabel.segmentation.cli import main
from protolabel.segmentation.media.frame_folder import frame_sequence_at
from tests.segmentation.media.frame_folders import make_frame_folder


def test_label_folder_labels_a_frame_folders_frames_under_their_keys(tmp_path, resnet50_checkpoint, capsys):
    project = tmp_path / "shots"
    make_frame_folder(project / "walk", [1, 2, 3, 6, 7])
    out = tmp_path / "labels.json"
    code = main(["label", str(project), "--weights", str(resnet50_checkpoint), "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    names = [image["file_name"] for image in json.loads(out.read_text())["images"]]
    assert sorted(names) == sorted(frame_sequence_at(project, "walk/").keys)
