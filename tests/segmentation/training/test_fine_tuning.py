"""The loop the issue asks for: fine-tune on a tiny synthetic COCO set, then `predict` finds the objects again.

CPU only, sized for a 2-core CI machine (about a minute): 6 training images of discs and
squares, input size 96, 120 iterations of 2 images, starting from a synthetic checkpoint in
the official layout with its 80 COCO classes replaced by 2 new ones. At so small an input
the coarse FPN levels have only a few anchors, so the objects sit near the 2 x 2 anchors of
P6 (see `synthetic_shapes`); augmentation is off so that so few iterations suffice (it has
its own tests).
"""

import json

import numpy as np
import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.engine import YolactEngine
from protolabel.segmentation.training.dataset import TrainingImages
from protolabel.segmentation.training.progress import parse_line
from tests.segmentation.training.synthetic_shapes import write_dataset


@pytest.mark.slow
def test_fine_tuned_checkpoint_finds_the_objects_with_the_right_class_and_mask(resnet50_checkpoint, tmp_path, capsys):
    coco = write_dataset(tmp_path, 6, seed=1, size=(96, 96), quadrants=True)
    val = write_dataset(tmp_path, 2, seed=2, size=(96, 96), name="val.json", prefix="val", quadrants=True)
    out = tmp_path / "run"
    status = main(
        [
            "train",
            "--coco",
            str(coco),
            "--images",
            str(tmp_path / "images"),
            "--val-coco",
            str(val),
            "--weights",
            str(resnet50_checkpoint),
            "--out",
            str(out),
            "--max-size",
            "96",
            "--iterations",
            "120",
            "--batch-size",
            "2",
            "--lr-steps",
            "0.8",
            "--no-augment",
            "--device",
            "cpu",
            "--log-every",
            "20",
        ]
    )
    assert status == 0
    events = [parsed for line in capsys.readouterr().out.splitlines() if (parsed := parse_line(line))]
    kinds = [name for name, _ in events]
    assert kinds[:2] == ["note", "start"] and kinds[-1] == "finished" and "evaluation" in kinds
    losses = [values["loss"] for name, values in events if name == "iteration"]
    assert losses[-1] < losses[0] / 4
    finished = events[-1][1]
    assert finished["stopped"] is False and finished["iteration"] == 120

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["iteration"] == 120 and metrics["class_names"] == ["disc", "square"]
    assert metrics["final"]["mask"]["AP50"] > 0.5 and metrics["final"]["box"]["AP50"] > 0.5  # unseen images

    engine = YolactEngine(finished["checkpoint"], device="cpu")  # what `protolabel predict` loads
    assert engine.class_names == ("disc", "square") and engine.info.config.max_size == 96
    images = TrainingImages.from_file(coco, tmp_path / "images")
    for i in range(len(images)):
        sample = images.load(i)
        det = engine.predict_image(sample.image)
        for label, mask in zip(sample.labels, sample.masks):
            # The object's detection is the best-scored one on it (as a user reads `predict`'s list).
            truth = mask.full(*sample.image.shape[:2])
            ious = np.array([(m & truth).sum() / (m | truth).sum() for m in det.masks.to_dense()])
            on_it = np.flatnonzero(ious >= 0.5)
            assert len(on_it), f"{images.images[i].file_name}: no detection on a {images.class_names[label]}"
            top = on_it[np.argmax(det.scores[on_it])]
            where = f"{images.images[i].file_name}, {images.class_names[label]}"
            assert det.scores[top] > 0.3 and det.classes[top] == label, f"{where}: top is {det.labels[top]}"
            assert ious[top] >= 0.7, f"{where}: mask IoU {ious[top]:.2f}"


@pytest.mark.slow
def test_yolact_plus_trains_its_mask_rescoring_net_too(tmp_path):
    """The re-scoring net is trained, not only carried: its loss term is there and its weights move.

    That its own loss falls when trained is shown with fixed inputs in test_yolact_losses.py: in a
    whole fine-tune the term can rise while the masks improve, since its targets (the masks' IoUs) move.
    """
    from protolabel.segmentation.training import TrainOptions, train
    from protolabel.segmentation.training.progress import IterationDone
    from protolabel.segmentation.yolact.checkpoint import read_state_dict
    from tests.conftest import make_checkpoint

    coco = write_dataset(tmp_path, 2, seed=1, size=(128, 128))
    start = make_checkpoint("yolact_plus_resnet50")
    iterations = []
    result = train(
        TrainOptions(
            coco=coco,
            images=tmp_path / "images",
            weights=start,
            out=tmp_path / "run",
            val_split=0.5,
            max_size=256,
            iterations=2,
            batch_size=1,
            warmup_iterations=0,
            lr_steps=(),
            augment=False,
            device="cpu",
            log_every=1,
        ),
        lambda event: iterations.append(event) if isinstance(event, IterationDone) else None,
    )
    assert set(iterations[0].losses) == {"box", "conf", "mask", "semantic", "maskiou"}
    assert all(np.isfinite(list(event.losses.values())).all() for event in iterations)
    assert all(event.losses["maskiou"] > 0 for event in iterations)  # the disc and square masks were scored

    before, after = read_state_dict(start), read_state_dict(result.checkpoint)
    for key in ("maskiou_net.maskiou_net.0.weight", "maskiou_net.maskiou_net.8.weight"):  # not re-initialised
        # SGD's weight decay alone (2 steps, momentum 0.9, lr 1e-3, decay 5e-4) would leave exactly this:
        w0 = before[key].double()
        w1 = w0 - 1e-3 * 5e-4 * w0
        w2 = w1 - 1e-3 * (0.9 * 5e-4 * w0 + 5e-4 * w1)
        learned = (after[key].double() - w2).abs().max().item()
        # without a gradient the decay-only prediction matches to 1e-7 (float32 rounding)
        assert learned > 1e-6, f"{key}: no gradient reached it (change beyond weight decay {learned:.1e})"
    engine = YolactEngine(result.checkpoint, device="cpu")
    assert engine.info.config.name == "yolact_plus_resnet50_im256" and engine.class_names == ("disc", "square")
    assert result.evaluation is not None and result.evaluation.images == 1  # 0.5 of 2 images is one
