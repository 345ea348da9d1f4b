"""A project's videos out as YouTube-VIS and back into a fresh project: frames with their identity, the same
tracks, pixels and classes; a person's work never overwritten; hostile files named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.folders import image_names
from protolabel.segmentation.formats.registry import by_name, detect
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.media.frame_export import read_frame_identity
from protolabel.segmentation.media.frame_folder import frame_sequences
from protolabel.segmentation.media.reader import VideoReader
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.labels import LABELS_KEY
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.video_store import VideoStore, frame_key
from protolabel.segmentation.project.youtube_vis import TRACK_ATTRIBUTE, apply_vis_import, plan_vis_import
from tests.segmentation.project.video_project import FRAMES, LABELS, video_project

HEIGHT, WIDTH = 64, 96


def oracle_mask(shape: Shape) -> np.ndarray:
    """The shape's pixels by pycocotools' own polygon rule (outer rings filled, holes cut out)."""
    mask = np.zeros((HEIGHT, WIDTH), bool)
    for polygon in shape.polygons:
        mask |= _fill(polygon.exterior)
        for hole in polygon.holes:
            mask &= ~_fill(hole)
    return mask


def _fill(ring: np.ndarray) -> np.ndarray:
    rle = mask_utils.frPyObjects([np.asarray(ring, float).reshape(-1).tolist()], HEIGHT, WIDTH)
    return mask_utils.decode(mask_utils.merge(rle)).astype(bool)


def _decoded(segmentation) -> np.ndarray:
    if isinstance(segmentation, dict):
        rle = (
            mask_utils.frPyObjects(segmentation, HEIGHT, WIDTH)
            if isinstance(segmentation["counts"], list)
            else segmentation
        )
        return mask_utils.decode(rle).astype(bool)
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(segmentation, HEIGHT, WIDTH))).astype(bool)


@pytest.fixture
def exported(tmp_path):
    """A video project and its YouTube-VIS export (outside the project folder); (expected tracks, out dir)."""
    expected = video_project(tmp_path / "proj")
    out = tmp_path / "vis"
    with VideoStore.open(tmp_path / "proj") as store:
        summary = export_project(store, by_name("youtube-vis"), out, labels=LABELS)
    assert (summary.images, summary.annotations, summary.skipped) == (FRAMES, 2, ())
    return expected, out


@pytest.mark.parametrize("polygons", [False, True])
def test_export_writes_every_frame_with_its_identity_and_one_annotation_per_track(tmp_path, polygons, capsys):
    expected = video_project(tmp_path / "proj")
    out = tmp_path / "vis"
    assert (
        main(["export", str(tmp_path / "proj"), "--to", "youtube-vis", "--out", str(out)] + ["--polygons"] * polygons)
        == 0
    )
    assert f"annotations.json: 2 tracks in {FRAMES} frames" in capsys.readouterr().out
    data = json.loads((out / "annotations.json").read_text())
    (video,) = data["videos"]
    assert (video["width"], video["height"], video["length"]) == (WIDTH, HEIGHT, FRAMES)
    with VideoReader(tmp_path / "proj" / "clip.mp4") as reader:
        for i, name in enumerate(video["file_names"]):
            assert name == f"clip_mp4/clip_{i:06d}.png"
            identity = read_frame_identity(out / "JPEGImages" / name)
            assert identity and identity["frame_index"] == i and identity["video_sha256"] == reader.sha256
            pixels = np.asarray(__import__("cv2").imread(str(out / "JPEGImages" / name)))
            assert np.array_equal(pixels, reader.read(i))
    assert [c["name"] for c in data["categories"]] == list(LABELS)
    names = {c["id"]: c["name"] for c in data["categories"]}
    assert len(data["annotations"]) == len(expected)
    for annotation, (track_id, frames) in zip(data["annotations"], sorted(expected.items())):
        assert annotation["id"] == track_id and annotation["video_id"] == video["id"]
        assert len(annotation["segmentations"]) == FRAMES
        for i, segmentation in enumerate(annotation["segmentations"]):
            if i not in frames:
                assert segmentation is None and annotation["bboxes"][i] is None and annotation["areas"][i] is None
                continue
            label, shape, made = frames[i]
            assert names[annotation["category_id"]] == label
            assert isinstance(segmentation, list if polygons and not shape.has_holes else dict)
            mask = _decoded(segmentation)
            assert np.array_equal(mask, oracle_mask(shape)) and annotation["areas"][i] == mask.sum()
            assert annotation["protolabel_provenance"][i] == made


def test_round_trip_into_a_fresh_project_gives_the_same_tracks_pixels_and_classes(exported, tmp_path, capsys):
    expected, out = exported
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(tmp_path / "proj" / "clip.mp4", fresh / "clip.mp4")  # the video, not yet in the fresh store
    shutil.copytree(out, fresh / "vis")
    assert detect(fresh / "vis" / "annotations.json").name == "youtube-vis"
    assert main(["import", str(fresh), str(fresh / "vis" / "annotations.json")]) == 0
    printed = capsys.readouterr().out
    assert f"Merged {FRAMES} frames with 10 objects." in printed and "frames 0-5 of clip.mp4" in printed
    with VideoStore.open(fresh) as store:
        assert store.setting(LABELS_KEY) == list(LABELS)
        (video,) = store.videos()
        tracks = store.tracks(video.id)
        assert len(tracks) == len(expected)
        got = []
        for track in tracks:
            objects = store.track_objects(track.id)
            assert {o.object.label for o in objects} == {track.label}
            got.append(
                {o.frame_index: (track.label, oracle_mask(o.object.shape), o.object.provenance.value) for o in objects}
            )
        want = [{i: (lab, oracle_mask(s), p) for i, (lab, s, p) in frames.items()} for frames in expected.values()]
        assert len(got) == len(want)
        for g, w in zip(sorted(got, key=lambda t: t[min(t)][0]), sorted(want, key=lambda t: t[min(t)][0])):
            assert g.keys() == w.keys()
            for i in g:
                assert g[i][0] == w[i][0] and g[i][2] == w[i][2] and np.array_equal(g[i][1], w[i][1]), i
        assert store.status(frame_key("clip.mp4", 2)) is ImageStatus.EDITED
        scores = {
            (o.label, o.provenance): o.score for i in range(FRAMES) for o in store.objects(frame_key("clip.mp4", i))
        }
        assert scores == {
            ("cat", Provenance.AUTO): 0.9,
            ("cat", Provenance.EDITED): None,
            ("dog", Provenance.AUTO): 0.8,
        }


def test_a_persons_frame_is_never_overwritten_and_the_plan_changes_nothing(exported, tmp_path):
    _, out = exported
    folder = tmp_path / "proj"  # the project itself: its video and frames are there
    shutil.copytree(out, folder / "vis")
    key = frame_key("clip.mp4", 3)
    with VideoStore.open(folder) as store:
        (video,) = store.videos()
        store.set_frame_status(key, ImageStatus.VERIFIED)  # a person accepted frame 3 (frame 2 is edited)
        before = {k: store.objects(k) for k in (key, frame_key("clip.mp4", 2))}
        plan = plan_vis_import(store, folder / "vis" / "annotations.json")
        worked_on = "already edited or verified in the project, left as it is"
        assert sorted(plan.skipped) == [(f"vis/JPEGImages/clip_mp4/clip_{i:06d}.png", worked_on) for i in (2, 3)]
        assert len(store.tracks(video.id)) == 2 and {k: store.objects(k) for k in before} == before  # plan: reads
        summary = apply_vis_import(store, plan)
        assert set(summary.merged) == {frame_key("clip.mp4", i) for i in (0, 1, 4, 5)}
        assert {k: store.objects(k) for k in before} == before
        assert store.status(key) is ImageStatus.VERIFIED
        # the tracks on the frames kept go on through the imported frames: not split in two
        assert "2 of them continue the project's tracks on frames a person worked on." in summary.notes
        tracks = {t.label: [o.frame_index for o in store.track_objects(t.id)] for t in store.tracks(video.id)}
        assert tracks == {"cat": list(range(FRAMES)), "dog": [1, 2, 4, 5]}


def test_frames_of_no_known_video_become_a_frame_folder_with_their_tracks(exported, tmp_path):
    expected, out = exported
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh / "vis")  # no video file: the frames are a folder of numbered frames
    with VideoStore.open(fresh) as store:
        summary = apply_vis_import(store, plan_vis_import(store, fresh / "vis" / "annotations.json"))
        assert len(summary.merged) == FRAMES
        (sequence,) = store.videos()
        assert sequence.path == "vis/JPEGImages/clip_mp4/"
        assert any("frames of the frame folder vis/JPEGImages/clip_mp4/" in note for note in summary.notes)
        tracks = {t.id: t for t in store.tracks(sequence.id)}
        assert sorted(t.label for t in tracks.values()) == sorted(LABELS)
        for i in range(FRAMES):
            objects = store.objects(f"vis/JPEGImages/clip_mp4/clip_{i:06d}.png")
            assert all(o.track_id in tracks for o in objects)
            masks = sorted(oracle_mask(o.shape).sum() for o in objects)
            assert masks == sorted(oracle_mask(f[i][1]).sum() for f in expected.values() if i in f)


def test_frames_too_few_to_be_a_sequence_become_images_with_their_track_as_an_attribute(tmp_path):
    folder = tmp_path / "proj"
    path = _vis(folder)  # two frame files: not a folder of numbered frames
    with VideoStore.open(folder) as store:
        summary = apply_vis_import(store, plan_vis_import(store, path))
        assert not store.videos() and any("merged as images" in note for note in summary.notes)
        assert summary.lines()[0] == "Merged 2 images with 1 object."  # images of the project now
        (obj,) = store.objects("vis/JPEGImages/v/00000.png")
        assert obj.attributes[TRACK_ATTRIBUTE] == 1 and store.objects("vis/JPEGImages/v/00001.png") == []


def _vis(folder: Path, **changes) -> Path:
    """A one-video YouTube-VIS file in `folder`/vis with 2 frame files (PNG, 96 x 64), changed as asked."""
    import cv2

    frames = folder / "vis" / "JPEGImages" / "v"
    frames.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        cv2.imwrite(str(frames / f"{i:05d}.png"), np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    rle = mask_utils.encode(np.asfortranarray(np.ones((HEIGHT, WIDTH), np.uint8)))
    rle["counts"] = rle["counts"].decode()
    data = {
        "videos": [
            {"id": 1, "width": WIDTH, "height": HEIGHT, "length": 2, "file_names": ["v/00000.png", "v/00001.png"]}
        ],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "video_id": 1, "category_id": 1, "segmentations": [rle, None]}],
    }
    for key, value in changes.items():
        target, field = key.split("__")
        (data[target][0] if target != "data" else data)[field] = value
    path = folder / "vis" / "annotations.json"
    path.write_text(json.dumps(data))
    return path


def test_hostile_files_are_refused_with_a_message_naming_the_problem(tmp_path, capsys):
    folder = tmp_path / "proj"
    path = _vis(folder)
    path.write_text('{"videos": [{"file_names": [')
    assert main(["import", str(folder), "--from", "youtube-vis", str(path)]) != 0
    assert "not a readable JSON file" in capsys.readouterr().err
    path = _vis(folder, annotations__segmentations=[None])
    assert main(["import", str(folder), "--from", "youtube-vis", str(path)]) != 0
    assert "has 1 segmentations, but video 1 has 2 frames" in capsys.readouterr().err
    path = _vis(folder, videos__file_names=["../../outside.png", "v/00001.png"])
    assert main(["import", str(folder), "--from", "youtube-vis", str(path)]) != 0
    assert "absolute paths and '..' are refused" in capsys.readouterr().err


def test_linked_frames_are_not_followed_and_frames_outside_the_folder_are_named(tmp_path, capsys):
    folder = tmp_path / "proj"
    path = _vis(folder)
    elsewhere = tmp_path / "elsewhere.png"
    shutil.copy(folder / "vis" / "JPEGImages" / "v" / "00000.png", elsewhere)
    (folder / "vis" / "JPEGImages" / "v" / "00000.png").unlink()
    os.symlink(elsewhere, folder / "vis" / "JPEGImages" / "v" / "00000.png")
    with VideoStore.open(folder) as store:
        plan = plan_vis_import(store, path)
    assert plan.skipped == (("vis/JPEGImages/v/00000.png", "outside the folder (a link, not followed)"),)
    assert [image.path for image in plan.images] == ["vis/JPEGImages/v/00001.png"]
    other = tmp_path / "other"
    other.mkdir()
    assert main(["import", str(other), "--from", "youtube-vis", str(path)]) != 0
    assert "are not under the project folder" in capsys.readouterr().err


def test_a_frame_named_twice_is_merged_once_and_the_second_named(tmp_path):
    folder = tmp_path / "proj"
    path = _vis(folder, videos__file_names=["v/00000.png", "v/00000.png"])
    with VideoStore.open(folder) as store:
        plan = plan_vis_import(store, path)
    assert [image.path for image in plan.images] == ["vis/JPEGImages/v/00000.png"]
    assert plan.skipped == (("vis/JPEGImages/v/00000.png", "named twice in the file (a frame listed again)"),)


def test_a_fifo_is_refused_and_a_project_without_videos_says_so(tmp_path, capsys):
    folder = tmp_path / "proj"
    _vis(folder)
    os.mkfifo(folder / "vis" / "fifo.json")
    assert main(["import", str(folder), "--from", "youtube-vis", str(folder / "vis" / "fifo.json")]) != 0
    assert "not a regular file (a YouTube-VIS file is one .json file)" in capsys.readouterr().err
    assert main(["import", str(folder), str(folder / "vis" / "annotations.json")]) == 0  # images, no video
    assert main(["export", str(folder), "--to", "youtube-vis", "--out", str(tmp_path / "out")]) == 0
    assert "no video of the project has labelled frames" in capsys.readouterr().out


def test_a_frame_folder_goes_out_as_its_own_files_and_comes_back_as_a_sequence_with_its_tracks(tmp_path):
    from protolabel.segmentation.project.records import AnnotatedObject
    from tests.segmentation.media.frame_folders import make_frame_folder
    from tests.segmentation.project.conftest import make_square
    from tests.segmentation.project.test_frame_folder_store import record

    project = tmp_path / "proj"
    make_frame_folder(project / "walk", range(6))
    with VideoStore.open(project) as store:
        video = record(store, project)
        track = store.create_track(video.id, "cat").tracks_after[0].id
        for i, key in enumerate(("walk/00001.png", "walk/00002.png")):
            obj = AnnotatedObject("cat", make_square(5 + i, 5, 20), Provenance.EDITED, track_id=track)
            store.write_change(key, saved=[obj], status=ImageStatus.EDITED)
    fresh = tmp_path / "fresh"
    assert main(["export", str(project), "--to", "youtube-vis", "--out", str(fresh / "vis")]) == 0
    (vis_video,) = json.loads((fresh / "vis" / "annotations.json").read_text())["videos"]
    assert vis_video["file_names"] == [f"walk/{i:05d}.png" for i in range(6)]
    assert (fresh / "vis/JPEGImages/walk/00003.png").read_bytes() == (project / "walk/00003.png").read_bytes()

    assert main(["import", str(fresh), "--from", "youtube-vis", str(fresh / "vis" / "annotations.json")]) == 0
    with VideoStore.open(fresh) as store:
        (sequence,) = store.videos()  # the frames' folder became a sequence, not loose images
        assert sequence.path == "vis/JPEGImages/walk/"
        (imported,) = store.tracks(sequence.id)
        assert imported.label == "cat"
        by_frame = {o.frame_index: o for o in store.track_objects(imported.id)}
        assert sorted(by_frame) == [1, 2]
        assert store.objects("vis/JPEGImages/walk/00002.png")[0].shape == make_square(6, 5, 20)


def test_frames_whose_time_is_not_the_projects_are_refused_as_drifted(exported, tmp_path):
    _, out = exported
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(tmp_path / "proj" / "clip.mp4", fresh / "clip.mp4")
    shutil.copytree(out, fresh / "vis")
    with VideoStore.open(tmp_path / "proj") as old, VideoStore.open(fresh) as store:
        (recorded,) = old.videos()
        fields = {name: getattr(recorded, name) for name in ("sha256", "frame_count", "width", "height", "size_bytes")}
        video = store.add_video("clip.mp4", time_base=recorded.time_base, **fields)
        store.add_frames(video.id, {f.index: f.pts + 1 for f in old.frames(recorded.id)})  # every time shifted
        plan = plan_vis_import(store, fresh / "vis" / "annotations.json")
    assert not plan.images and len(plan.skipped) == FRAMES
    assert all("(the numbering drifted)" in reason for _, reason in plan.skipped)


@pytest.mark.parametrize("where", ["the folder", "a sub-folder", "a hidden sub-folder", "a link to a sub-folder"])
def test_an_export_never_puts_its_frames_where_the_next_scan_would_list_them(tmp_path, capsys, where):
    """JPEGImages/<video>/ is a folder of numbered frames: written into the project folder it would be listed
    beside the video as a second sequence of the same frames. The format fixes its place beside the JSON
    (COCO's frames can hide in a '.<stem>.frames/' folder; these cannot), so the export is refused there."""
    folder = tmp_path / "proj"
    video_project(folder)
    out = {
        "the folder": folder,
        "a sub-folder": folder / "vis",
        "a hidden sub-folder": folder / ".vis",
        "a link to a sub-folder": tmp_path / "link",
    }[where]
    if where == "a link to a sub-folder":
        (folder / "exports").mkdir()
        os.symlink(folder / "exports", out)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*") if ".protolabel" not in p.parts)
    assert main(["export", str(folder), "--to", "youtube-vis", "--out", str(out)]) == 2
    assert "would hold or lie inside the project folder" in capsys.readouterr().err
    assert sorted(p.relative_to(folder) for p in folder.rglob("*") if ".protolabel" not in p.parts) == before
    assert frame_sequences(image_names(folder)) == []  # the project's scan: no frame folder beside the video
