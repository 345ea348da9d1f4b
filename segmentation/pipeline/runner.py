"""Run a model over many images with decoding, the network and post-processing overlapped.

    images --(decode threads)--> batches --(model, this thread)--> detections
           --(post-processing processes)--> results, yielded in input order

Every stage is bounded (a batch or two decoded ahead, a few images in post-processing), so memory
stays flat on a folder of 100,000 images. `workers=0` runs the same loop with no pools at all.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from protolabel.segmentation.images import ImageReadError, read_image
from protolabel.segmentation.pipeline.pools import decode_pool, postprocess_pool

if TYPE_CHECKING:  # the engine's modules pull in torch; a run that never predicts need not load it
    from protolabel.segmentation.detections import Detections

T = TypeVar("T")
Predict = Callable[[list[np.ndarray]], Sequence["Detections"]]
PostProcess = Callable[[str, "Detections"], Any]  # (name, detections) -> result; picklable when workers > 0


@dataclass(frozen=True)
class PipelineResult(Generic[T]):
    """One input image's outcome. Exactly one of `value` and `error` is set."""

    index: int  # position in the input
    name: str
    path: Path
    batch: int  # which batch (of `batch_size` consecutive inputs) it went in
    last_in_batch: bool  # the batch's last input: progress and periodic saves follow batches
    image_size: tuple[int, int] | None  # (height, width) in pixels; None when the image was not read
    value: T | None  # what the post-processing returned
    error: str | None  # one line: why there is no value (unreadable image, failed inference)
    detections: Detections | None = None  # the model's full output, when the run keeps it


@dataclass
class _Pending:
    """A result waiting for its turn (and for its post-processing)."""

    index: int
    name: str
    path: Path
    batch: int
    last_in_batch: bool
    image_size: tuple[int, int] | None = None
    error: str | None = None
    future: Future | None = None
    detections: Detections | None = None

    def done(self) -> bool:
        return self.future is None or self.future.done()

    def result(self) -> PipelineResult:
        value = self.future.result() if self.future is not None else None  # a post-processing error raises here
        return PipelineResult(
            self.index,
            self.name,
            self.path,
            self.batch,
            self.last_in_batch,
            self.image_size,
            value,
            self.error,
            self.detections,
        )


def run_pipeline(
    items: Iterable[tuple[str, str | Path]],
    predict: Predict,
    postprocess: Callable[[], PostProcess],
    *,
    batch_size: int = 1,
    workers: int = 0,
    decode_threads: int | None = None,
    max_postprocessing: int | None = None,
    read: Callable[[Path], np.ndarray] = read_image,
    on_predict_error: Callable[[Exception], str] | None = None,
    keep_detections: bool = False,
    stop: threading.Event | None = None,
) -> Iterator[PipelineResult]:
    """Results for (name, path) `items`, one per item, in input order.

    `predict(images)` runs on the calling thread, only for batches with at least one readable image
    (so a model loaded on the first call is never loaded for nothing). `postprocess()` is called
    once, after the first prediction (its parameters may depend on the loaded model), and returns
    the per-image `fn(name, detections)` that runs in `workers` processes (0: here, sequentially);
    it gets the detections without their prototypes. An unreadable image is an error result; a
    failing `predict` raises, or with `on_predict_error` fails the batch's images with its message.
    After `stop` is set no new batch reaches the model, the batch in progress is finished and the
    results end. Close the iterator (contextlib.closing) to shut the pools down early; an exception
    or KeyboardInterrupt shuts them down too, leaving no worker process behind.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, got {workers}")
    decoder = decode_pool(workers, decode_threads)
    post = None
    try:
        # The decoders run a batch ahead of the model (sequentially: no read before it is needed).
        ahead = batch_size if workers == 0 else 2 * batch_size + 2
        limit = max_postprocessing or (1 if workers == 0 else max(2 * workers, batch_size))
        decoding: deque[tuple[int, str, Path, Future]] = deque()
        pending: deque[_Pending] = deque()
        source = iter(enumerate(items))
        task: PostProcess | None = None
        in_postprocessing = 0
        last_batch_yielded = -1
        stop_after: list[int] = []  # the last batch to finish, once `stop` is seen

        def stopping() -> bool:
            if stop is not None and stop.is_set() and not stop_after:
                stop_after.append(pending[0].batch if pending else last_batch_yielded)
            return bool(stop_after)

        def emit(wait_until: int | None = None) -> Iterator[PipelineResult]:
            """Yield finished results from the head; block while more than `wait_until` are in post-processing."""
            nonlocal in_postprocessing, last_batch_yielded
            while pending and (pending[0].done() or (wait_until is not None and in_postprocessing > wait_until)):
                if stopping() and pending[0].batch > stop_after[0]:
                    return
                head = pending.popleft()
                result = head.result()
                if head.future is not None:
                    in_postprocessing -= 1
                last_batch_yielded = head.batch
                yield result

        batch_number = 0
        while True:
            for index, (name, path) in source:
                decoding.append((index, name, Path(path), decoder.submit(_read, read, Path(path))))
                if len(decoding) >= ahead:
                    break
            if not decoding or stopping():
                break
            batch = [decoding.popleft() for _ in range(min(batch_size, len(decoding)))]
            entries, images = [], []
            for i, (index, name, path, future) in enumerate(batch):
                image, error = future.result()
                entry = _Pending(index, name, path, batch_number, i == len(batch) - 1, error=error)
                if image is not None:
                    entry.image_size = (int(image.shape[0]), int(image.shape[1]))
                    images.append(image)
                entries.append(entry)
            predicted: Sequence[Detections] = []
            if images:
                if post is None:  # its processes start importing while the first prediction loads the model
                    post = postprocess_pool(workers)
                try:
                    predicted = predict(images)
                except Exception as exc:
                    if on_predict_error is None:
                        raise
                    message = on_predict_error(exc)
                    for entry in entries:
                        if entry.error is None:
                            entry.error, entry.image_size = message, None
                else:
                    if len(predicted) != len(images):
                        raise RuntimeError(f"the model returned {len(predicted)} results for {len(images)} images")
            del images, batch  # the decoded images are not needed past the model (the futures hold them)
            if predicted and task is None:
                task = postprocess()
            readable = iter(predicted)
            for entry in entries:
                if entry.error is None:
                    detections = next(readable)
                    yield from emit(wait_until=limit - 1)  # room for one more in post-processing
                    entry.future = post.submit(task, entry.name, without_prototypes(detections))
                    entry.detections = detections if keep_detections else None
                    in_postprocessing += 1
                pending.append(entry)
            del predicted, readable
            batch_number += 1
            yield from emit()
        yield from emit(wait_until=0)
    finally:
        decoder.shutdown(wait=True, cancel_futures=True)
        if post is not None:
            post.shutdown(wait=True, cancel_futures=True)


def without_prototypes(detections: Detections) -> Detections:
    """The detections without the prototype stack (what post-processing never reads), cheap to send."""
    k = detections.prototypes.shape[-1] if detections.prototypes.ndim else 0
    return dataclasses.replace(detections, prototypes=np.zeros((0, 0, k), detections.prototypes.dtype))


def _read(read: Callable[[Path], np.ndarray], path: Path) -> tuple[np.ndarray | None, str | None]:
    """(image, None) or (None, why it cannot be read)."""
    try:
        return read(path), None
    except ImageReadError as exc:
        return None, str(exc)
