"""File ▸ Export… offers YouTube-VIS for a project with videos (only then), and File ▸ Import… recognises a
YouTube-VIS file, shows what it will merge, then merges the videos' frames and tracks."""

from __future__ import annotations

import json
import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from tests.segmentation.project.video_project import FRAMES, LABELS, square, video_project


def _formats(dialog) -> list[str]:
    return [dialog.format_box.itemData(i) for i in range(dialog.format_box.count())]


def test_export_offers_youtube_vis_only_for_a_project_with_videos(
    make_window, photo_folder, qtbot, tmp_path, monkeypatch
):
    from protolabel.app.dialogs.export import ExportDialog

    window = make_window()
    window.open_folder(photo_folder)
    plain = ExportDialog(photo_folder / "annotations.json", window.exporter.counts(), photo_folder, window)
    qtbot.addWidget(plain)
    assert "youtube-vis" not in _formats(plain) and "coco" in _formats(plain)

    folder = tmp_path / "footage"
    video_project(folder)
    with VideoStore.open(folder) as store:  # the cat dragged off the frame on frame 0: written null, counted
        (video,) = store.videos()
        key = frame_key("clip.mp4", 0)
        (cat,) = [o for o in store.frame_objects(key) if o.label == "cat"]
        store.write_change(key, saved=[cat.with_changes(shape=square(video.width + 5, 5))])
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    dialog = ExportDialog(folder / "annotations.json", window.exporter.counts(), folder, window)
    qtbot.addWidget(dialog)
    assert dialog.polygons_box.isHidden()  # COCO first: the choice is YouTube-VIS's
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("youtube-vis"))
    assert dialog.format.name == "youtube-vis" and dialog.path == tmp_path / "footage-youtube-vis"
    assert "one annotation per track" in dialog.carries.text() and not dialog.carries.isHidden()
    assert not dialog.polygons_box.isHidden() and not dialog.polygons
    assert dialog.problem() == ""

    def chosen(self) -> bool:  # File > Export..., YouTube-VIS with polygons chosen, then Export
        self.format_box.setCurrentIndex(self.format_box.findData("youtube-vis"))
        self.polygons_box.setChecked(True)
        return True

    monkeypatch.setattr(ExportDialog, "exec", chosen)
    results = []
    window.exporter.finished.connect(lambda *args: results.append(args))
    window.export_coco()
    qtbot.waitUntil(lambda: bool(results))
    summary, _, error = results[0]
    assert error is None and (summary.images, summary.annotations) == (FRAMES, 2)
    status = window.statusBar().currentMessage()
    assert status.startswith(f"Wrote 2 tracks in {FRAMES} frames to {summary.path}")
    assert "1 frame shape covered no pixel of its frame" in status
    data = json.loads((tmp_path / "footage-youtube-vis" / "annotations.json").read_text())
    segmentations = [s for a in data["annotations"] for s in a["segmentations"]]
    assert any(isinstance(s, list) for s in segmentations)  # polygons, as chosen
    (cat_id,) = [c["id"] for c in data["categories"] if c["name"] == "cat"]
    (cat_annotation,) = [a for a in data["annotations"] if a["category_id"] == cat_id]
    assert cat_annotation["segmentations"][0] is None and cat_annotation["areas"][0] is None


def test_import_recognises_youtube_vis_confirms_then_merges_tracks(make_window, qtbot, tmp_path):
    from protolabel.app.dialogs.import_coco import ImportSourceDialog, start_import

    video_project(tmp_path / "proj")
    with VideoStore.open(tmp_path / "proj") as store:
        export_project(store, by_name("youtube-vis"), tmp_path / "vis", labels=LABELS)
    folder = tmp_path / "fresh"
    folder.mkdir()
    shutil.copy(tmp_path / "proj" / "clip.mp4", folder / "clip.mp4")
    shutil.copytree(tmp_path / "vis", folder / "vis")
    window = make_window()
    assert window.projects.open_folder(folder)
    window.projects.wait_for_scan()
    source = ImportSourceDialog(folder, window)
    qtbot.addWidget(source)
    source.path_edit.setText(str(folder / "vis" / "annotations.json"))
    assert source.found.text().startswith("Recognised: <b>YouTube-VIS") and source.format.name == "youtube-vis"

    start_import(window, source.path, source.format)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(QDialog, "import_dialog")))
    (dialog,) = [d for d in window.findChildren(QDialog, "import_dialog") if d.isVisible()]
    text = dialog.text.toPlainText()
    assert f"Will merge {FRAMES} frames with 10 objects." in text and "frames 0-5 of clip.mp4" in text
    with VideoStore.open(folder) as store:  # nothing written before Import
        assert all(not store.tracks(v.id) for v in store.videos())
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Merged" in window.statusBar().currentMessage())
    assert window.statusBar().currentMessage().startswith(f"Merged {FRAMES} frames with 10 objects.")
    with VideoStore.open(folder) as store:
        video = store.video("clip.mp4")  # (the exported frames in vis/ are a frame folder of the project too)
        assert sorted(t.label for t in store.tracks(video.id)) == ["cat", "dog"]
