"""The executors behind the pipelined run: decode threads, post-processing processes, or neither.

`workers=0` swaps both for `InlineExecutor`, which runs each call at once: the sequential run is the
same code as the pipelined one, only without pools, so it is the pipelined run's oracle.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

MAX_DEFAULT_WORKERS = 8
# Below this many cores the default is the sequential run: on 2 cores torch's threads already hold both, and a
# worker process only competes with them (benchmarks/throughput.py, 64 photos: 0.85-0.91x the sequential
# images/s with yolact_resnet50 at 128, 0.99x with yolact_base at 550).
MIN_CORES_FOR_WORKERS = 4
# Below this many images a process pool costs more than it saves: each worker starts a Python and
# imports numpy, OpenCV, shapely and the task's module (not torch) before its first result.
MIN_IMAGES_FOR_WORKERS = 16


class InlineExecutor(Executor):
    """Runs each submitted call immediately in the caller's thread (the sequential path)."""

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 delivered through the future, as a pool would
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, SystemExit: stop now, as in any sequential loop
            future.set_exception(exc)
        return future


def default_workers() -> int:
    """Post-processing processes for this machine: half its cores (the device thread and the
    decoders need the rest), at most MAX_DEFAULT_WORKERS; none below MIN_CORES_FOR_WORKERS cores."""
    cores = os.cpu_count() or 1
    return 0 if cores < MIN_CORES_FOR_WORKERS else min(MAX_DEFAULT_WORKERS, cores // 2)


def workers_for(requested: int | None, images: int) -> int:
    """The worker count a run uses: `requested` when given, else default_workers() for a folder of
    at least MIN_IMAGES_FOR_WORKERS images and 0 (sequential) for fewer."""
    if requested is not None:
        if requested < 0:
            raise ValueError(f"workers must be 0 or more, got {requested}")
        return requested
    return default_workers() if images >= MIN_IMAGES_FOR_WORKERS else 0


def decode_pool(workers: int, threads: int | None = None) -> Executor:
    """Threads that read images (OpenCV decodes without the GIL), or inline for `workers=0`."""
    if workers == 0:
        return InlineExecutor()
    threads = threads or max(1, min(4, os.cpu_count() or 1))
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="protolabel-decode")


def postprocess_pool(workers: int) -> Executor:
    """`workers` spawned processes for post-processing (spawn: torch and forked threads do not mix),
    or inline for `workers=0`. The processes start importing at once, while the model loads."""
    if workers == 0:
        return InlineExecutor()
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
    )
    for _ in range(workers):  # each submit that finds no idle worker starts one: all start now
        pool.submit(_ready)
    return pool


def _init_worker() -> None:
    # Ctrl+C reaches the whole process group: the parent decides and shuts the pool down, so a
    # worker ignores it instead of dying mid-task with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL, a crash) never shuts the pool down, and a worker waiting for
    # its next task would wait for ever: each worker leaves when its parent is gone.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="protolabel-parent-watch").start()
    import cv2

    cv2.setNumThreads(1)  # one process per core already
    importlib.import_module(
        "protolabel.segmentation.detections"
    )  # every task unpickles Detections: import it before the first


def _exit_with(parent) -> None:
    parent.join()  # returns when the parent process has ended
    os._exit(1)


def _ready() -> None:
    """A no-op task: submitting it makes the pool start a worker."""
