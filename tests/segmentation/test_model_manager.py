"""Model manager against a local HTTP server on 127.0.0.1: download, resume, cancel, verify, no network."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from protolabel.segmentation.model_manager import (
    MIRROR_ENV,
    OFFICIAL_MODELS,
    DownloadCancelled,
    ModelDownloadError,
    ModelManager,
    NoNetworkError,
    OfficialModel,
    default_cache_dir,
    expected_size_range,
    leftover_layer_bytes,
    tensor_bytes,
)
from protolabel.segmentation.yolact.checkpoint import load_yolact
from tests.model_server import FILE, ModelServer


@pytest.fixture(scope="module")
def checkpoint_bytes(released_resnet50_checkpoint):
    """Shaped like the released file (leftover FPN layer, legacy format): what a download gets."""
    return released_resnet50_checkpoint.read_bytes()


@pytest.fixture
def server(checkpoint_bytes):
    s = ModelServer(checkpoint_bytes)
    yield s
    s.close()


def test_official_addresses_are_the_published_ones():
    assert len(OFFICIAL_MODELS) == 6
    resnet = ModelManager(cache_dir="/x").model("yolact_resnet50")
    assert resnet.url == (
        "https://huggingface.co/dbolya/yolact-resnet50/resolve/main/yolact_resnet50_54_800000.pth?download=true"
    )
    assert all(m.url.startswith("https://huggingface.co/dbolya/") and m.file_name in m.url for m in OFFICIAL_MODELS)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROTOLABEL_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("PROTOLABEL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "protolabel" / "models"


def test_download_with_progress_verifies_and_loads(server, tmp_path, checkpoint_bytes):
    manager = ModelManager(tmp_path)
    seen = []
    path = manager.download(server.model(), progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / FILE and path.read_bytes() == checkpoint_bytes
    assert not manager.partial_path(server.model()).exists()
    assert seen[-1] == (len(checkpoint_bytes), len(checkpoint_bytes))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    model, info = load_yolact(path)
    assert info.config.name == "yolact_resnet50"
    assert manager.download(server.model()) == path and len(server.ranges) == 1  # already there: no request


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path, checkpoint_bytes):
    manager = ModelManager(tmp_path)
    server.cut_after = 3_000_000
    with pytest.raises(ModelDownloadError, match="try again to resume"):
        manager.download(server.model())
    assert manager.partial_bytes(server.model()) == 3_000_000
    path = manager.download(server.model())
    assert server.ranges == [None, "bytes=3000000-"]
    assert path.read_bytes() == checkpoint_bytes


def test_server_without_range_support_restarts_from_zero(server, tmp_path, checkpoint_bytes):
    manager = ModelManager(tmp_path)
    manager.partial_path(server.model()).write_bytes(b"stale bytes that must not stay")
    server.honour_range = False
    assert manager.download(server.model()).read_bytes() == checkpoint_bytes


def test_cancel_keeps_the_part_for_later(server, tmp_path, checkpoint_bytes):
    manager = ModelManager(tmp_path)
    cancel = threading.Event()

    def progress(done, total):
        if done >= 2 << 20:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="resumes next time"):
        manager.download(server.model(), progress=progress, cancel=cancel)
    kept = manager.partial_bytes(server.model())
    assert 0 < kept < len(checkpoint_bytes) and not manager.is_downloaded(server.model())
    assert manager.download(server.model()).read_bytes() == checkpoint_bytes
    assert server.ranges[-1] == f"bytes={kept}-"


def test_a_file_that_is_not_a_checkpoint_is_rejected_and_deleted(tmp_path):
    bad = ModelServer(b"<html>Please log in</html>" * 1000)
    try:
        manager = ModelManager(tmp_path)
        with pytest.raises(ModelDownloadError, match="not a usable yolact_resnet50 checkpoint"):
            manager.download(bad.model())
        assert not manager.partial_path(bad.model()).exists() and not manager.is_downloaded(bad.model())
    finally:
        bad.close()


def test_http_error_is_reported_with_its_status(server, tmp_path):
    with pytest.raises(ModelDownloadError, match="404"):
        ModelManager(tmp_path).download(server.model("missing.pth"))


def test_unreachable_server_says_no_network(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OfficialModel("yolact_resnet50", FILE, f"http://127.0.0.1:{port}/{FILE}", 0, 0)
    with pytest.raises(NoNetworkError, match="No network connection to 127.0.0.1.*local .pth file"):
        ModelManager(tmp_path, timeout=2).download(model)


# ---------------------------------------------------------------- hostile or broken servers, corrupt caches
class _SlowServer:
    """Sends headers for the whole file, then one byte every `interval` s (or nothing) until told to stop."""

    def __init__(self, size: int, interval: float | None):
        self.stop = threading.Event()
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.flush()
                while not server.stop.wait(interval if interval is not None else 0.2):
                    if interval is not None:
                        try:
                            self.wfile.write(b"\0")
                            self.wfile.flush()
                        except OSError:
                            return
                        server.sent += 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def model(self, size: int) -> OfficialModel:
        return OfficialModel("yolact_resnet50", FILE, f"http://127.0.0.1:{self.port}/{FILE}", 0, 0, size=size)

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("interval", [0.5, None], ids=["trickle", "silent"])
def test_cancel_ends_a_download_the_server_trickles_or_stalls(tmp_path, interval):
    size = 10_000_000
    slow = _SlowServer(size, interval)
    manager = ModelManager(tmp_path, timeout=600)  # the socket timeout cannot be what ends it
    cancel, outcome = threading.Event(), []

    def progress(done, total):
        if done == 0:  # the body starts: cancel a moment later, while the download waits in a read
            threading.Timer(1.0, cancel.set).start()

    def run():
        try:
            manager.download(slow.model(size), progress=progress, cancel=cancel)
        except Exception as exc:  # noqa: BLE001 the test looks at what came out
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        worker.join(timeout=60)  # a bound far above "within a second"; before the fix this never ended
        assert not worker.is_alive(), "cancel did not stop a download the server holds open"
        assert len(outcome) == 1 and isinstance(outcome[0], DownloadCancelled)
        assert manager.partial_bytes(slow.model(size)) < size
    finally:
        slow.close()


class _EndlessBody(ModelServer):
    """Serves the file followed by junk, with no Content-Length (so only the received size can stop it)."""

    def __init__(self, data: bytes, extra: int, announce: bool = False):
        super().__init__(data)
        body = data + b"\0" * extra
        self.served = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                if announce:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 1 << 20):
                        self.wfile.write(body[i : i + (1 << 20)])
                        outer.served += len(body[i : i + (1 << 20)])
                except OSError:
                    pass

        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.mark.parametrize("announce", [False, True], ids=["no-length", "length-announced"])
def test_download_stops_at_the_expected_size(tmp_path, checkpoint_bytes, announce):
    big = _EndlessBody(checkpoint_bytes, extra=3 * len(checkpoint_bytes), announce=announce)
    try:
        model = OfficialModel(
            "yolact_resnet50", FILE, f"http://127.0.0.1:{big.port}/{FILE}", 0, 0, size=len(checkpoint_bytes)
        )
        manager = ModelManager(tmp_path)
        with pytest.raises(ModelDownloadError, match=f"{len(checkpoint_bytes):,} bytes"):
            manager.download(model)
        assert not manager.partial_path(model).exists() and not manager.is_downloaded(model)
        assert not any(p.stat().st_size > len(checkpoint_bytes) for p in tmp_path.iterdir())
    finally:
        big.close()


PUBLISHED_RESNET50 = (127_300_392, "c12bb7a7e0343281db7f1407b376970bb52651f121d0b60bc4a49207acb6d6d7")  # spec s. 11


def test_the_published_resnet50_figures_are_recorded():
    model = ModelManager(cache_dir="/x").model("yolact_resnet50")
    assert (model.size, model.sha256) == PUBLISHED_RESNET50
    assert expected_size_range(model) == (PUBLISHED_RESNET50[0],) * 2  # exact: only the published file fits
    assert "matches the published one" in model.checks


def test_fallback_bounds_hold_the_published_file_and_a_released_shaped_one(
    resnet50_checkpoint, released_resnet50_checkpoint
):
    """Were the size not recorded, the derived bounds would still hold the published size (which has the
    leftover FPN layer) and both synthetic layouts, and refuse a file padded by a few MB."""
    unrecorded = OfficialModel("yolact_resnet50", FILE, "http://127.0.0.1/x", 0, 0)
    smallest, largest = expected_size_range(unrecorded)
    assert smallest <= PUBLISHED_RESNET50[0] <= largest
    for path in (resnet50_checkpoint, released_resnet50_checkpoint):
        assert smallest <= path.stat().st_size <= largest
    assert largest < PUBLISHED_RESNET50[0] + 3_000_000
    assert leftover_layer_bytes("yolact_resnet50") == 2_360_320  # the spec's figure: 3x3 conv 256->256 + bias


@pytest.mark.parametrize("config", [m.config for m in OFFICIAL_MODELS if m.size is None])
def test_fallback_bounds_hold_every_unrecorded_model_saved_as_released(config):
    """Released layout (leftover layer, legacy format) and a re-save without it (zip) both fit; the
    contents do not matter for the size, so zeros stand in for weights."""
    import io
    from collections import OrderedDict

    import torch

    from protolabel.segmentation.yolact.synthetic import LEFTOVER_LAYER, checkpoint_manifest

    manifest = checkpoint_manifest(config)
    state = OrderedDict((key, torch.zeros(shape, dtype=dtype)) for key, shape, dtype in manifest)
    resaved = io.BytesIO()
    torch.save(state, resaved)
    state.update(
        (key.replace("fpn.downsample_layers.1", LEFTOVER_LAYER), torch.zeros(shape, dtype=dtype))
        for key, shape, dtype in manifest
        if key.startswith("fpn.downsample_layers.1.")
    )
    released = io.BytesIO()
    torch.save(state, released, _use_new_zipfile_serialization=False)
    smallest, largest = expected_size_range(ModelManager(cache_dir="/x").model(config))
    assert smallest <= len(resaved.getvalue()) <= largest
    assert smallest <= len(released.getvalue()) <= largest


def _padded_to(path, size: int) -> bytes:
    """The checkpoint at `path` re-saved as exactly `size` bytes (a byte tensor under a key the loader drops)."""
    import io

    import torch

    state = torch.load(path, weights_only=True)
    pad = 0
    for _ in range(8):
        state["fpn.downsample_layers.3.weight"] = torch.zeros(pad, dtype=torch.uint8)
        buffer = io.BytesIO()
        torch.save(state, buffer, _use_new_zipfile_serialization=False)
        if len(buffer.getvalue()) == size:
            return buffer.getvalue()
        pad += size - len(buffer.getvalue())
    raise AssertionError("could not pad the checkpoint to the size")


def test_the_published_entry_refuses_a_file_of_its_size_that_loads_but_is_not_it(
    released_resnet50_checkpoint, tmp_path, monkeypatch
):
    """Size fits exactly and the file loads as yolact_resnet50, yet its digest is not the published one:
    refused and deleted (through a mirror on 127.0.0.1, the real table entry unchanged)."""
    data = _padded_to(released_resnet50_checkpoint, PUBLISHED_RESNET50[0])
    (tmp_path / "look-alike").mkdir()
    look_alike = tmp_path / "look-alike" / FILE
    look_alike.write_bytes(data)
    assert load_yolact(look_alike)[1].config.name == "yolact_resnet50"
    server = ModelServer(data)
    try:
        monkeypatch.setenv(MIRROR_ENV, server.url + "/")
        manager = ModelManager(tmp_path / "cache")
        real = manager.model("yolact_resnet50")
        assert manager.url_for(real) == f"{server.url}/{FILE}"
        with pytest.raises(ModelDownloadError, match="SHA-256 differs from the published one"):
            manager.download(real)
        assert server.ranges == [None] and [p.name for p in (tmp_path / "cache").iterdir()] == [FILE + ".lock"]
    finally:
        server.close()


def test_a_mirror_serves_the_official_file_names_and_is_verified_the_same(
    server, tmp_path, checkpoint_bytes, monkeypatch
):
    entry = OfficialModel(
        "yolact_resnet50",
        FILE,
        "https://unreachable.invalid/x.pth",
        0,
        0,
        size=len(checkpoint_bytes),
        sha256=hashlib.sha256(checkpoint_bytes).hexdigest(),
    )
    monkeypatch.setenv(MIRROR_ENV, server.url)
    assert ModelManager(tmp_path / "a").download(entry).read_bytes() == checkpoint_bytes
    assert ModelManager(tmp_path / "b", mirror="").url_for(entry) == entry.url  # '' : the published address
    server.data = checkpoint_bytes[:-1] + b"!"  # the mirror's copy differs: same checks, refused
    with pytest.raises(ModelDownloadError, match="SHA-256 differs"):
        ModelManager(tmp_path / "c").download(entry)


@pytest.mark.parametrize("mirror", ["ftp://host/models", "file:///srv/models", "host/models"])
def test_a_mirror_that_is_not_http_is_refused_with_what_to_set(tmp_path, mirror):
    manager = ModelManager(tmp_path, mirror=mirror)
    with pytest.raises(ModelDownloadError, match="not an http:// or https:// address.*PROTOLABEL_MODEL_MIRROR"):
        manager.download(manager.model("yolact_resnet50"))


def test_an_unreachable_mirror_says_no_network_and_names_the_mirror(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manager = ModelManager(tmp_path, mirror=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(NoNetworkError, match=f"No network connection to 127.0.0.1.*{MIRROR_ENV}"):
        manager.download(manager.model("yolact_resnet50"))


def test_sha256_is_checked_when_recorded(server, tmp_path, checkpoint_bytes):
    good = hashlib.sha256(checkpoint_bytes).hexdigest()
    base = server.model()
    right = OfficialModel(base.config, base.file_name, base.url, 0, 0, size=len(checkpoint_bytes), sha256=good)
    wrong = OfficialModel(base.config, base.file_name, base.url, 0, 0, size=len(checkpoint_bytes), sha256="0" * 64)
    with pytest.raises(ModelDownloadError, match="SHA-256"):
        ModelManager(tmp_path / "a").download(wrong)
    assert not (tmp_path / "a" / FILE).exists()
    assert ModelManager(tmp_path / "b").download(right).read_bytes() == checkpoint_bytes


@pytest.mark.parametrize("junk", [b"\xff", b"\x00"])  # 0xff makes NaNs; zeros keep every value finite and loadable
def test_corrupt_file_in_the_cache_is_detected_and_downloaded_again(server, tmp_path, checkpoint_bytes, junk):
    manager = ModelManager(tmp_path)
    path = manager.download(server.model())
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = junk * 4096  # same size, damaged inside
    path.write_bytes(bytes(data))
    assert not manager.is_verified(server.model())
    with pytest.raises(ModelDownloadError, match="changed since it was downloaded and verified"):
        manager.verified_path(server.model())  # what "Use" calls: the damage is caught, the file deleted
    assert not path.exists()
    if junk == b"\xff":  # without a stamp only the structure check is left: it catches NaNs, not zeros
        path.write_bytes(bytes(data))
    assert manager.download(server.model()).read_bytes() == checkpoint_bytes
    assert len(server.ranges) == 2


def test_a_touched_but_unchanged_cached_file_is_still_accepted(server, tmp_path, checkpoint_bytes):
    manager = ModelManager(tmp_path)
    path = manager.download(server.model())
    os.utime(path, ns=(1, 1))  # copied with another time stamp: the stamp no longer matches, the digest does
    assert not manager.is_verified(server.model())
    assert manager.verified_path(server.model()) == path and path.read_bytes() == checkpoint_bytes
    assert manager.is_verified(server.model()) and len(server.ranges) == 1


def test_a_cache_without_stamps_is_checked_not_trusted(server, tmp_path, checkpoint_bytes):
    manager = ModelManager(tmp_path)
    (tmp_path / FILE).write_bytes(checkpoint_bytes[: len(checkpoint_bytes) // 2])  # an old, truncated copy
    assert manager.download(server.model()).read_bytes() == checkpoint_bytes
    assert len(server.ranges) == 1
    manager.stamp_path(server.model()).unlink()  # a good copy from before stamps: accepted without a request
    assert manager.download(server.model()).read_bytes() == checkpoint_bytes
    assert len(server.ranges) == 1 and manager.is_verified(server.model())


def test_free_disk_space_is_checked_before_downloading(server, tmp_path, monkeypatch):
    import shutil as real_shutil

    import protolabel.segmentation.model_manager as mm

    usage = real_shutil.disk_usage(tmp_path)
    monkeypatch.setattr(mm.shutil, "disk_usage", lambda path: usage._replace(free=50_000_000))
    with pytest.raises(ModelDownloadError, match="Not enough disk space.*47 MB are free"):
        ModelManager(tmp_path).download(server.model())
    assert server.ranges == []  # refused before asking the server


@pytest.mark.parametrize("config", [m.config for m in OFFICIAL_MODELS])
def test_size_fallback_counts_exactly_the_official_tensors(config):
    """The fallback's lower bound is the byte count of the official key manifest (an independent record)."""
    import json
    from pathlib import Path

    import numpy as np

    manifest = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoint-keys" / f"{config}.json"
    entries = json.loads(manifest.read_text())
    expected = sum(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize for _, shape, dtype in entries)
    assert tensor_bytes(config) == expected


def test_what_verification_proves_is_said_plainly():
    unrecorded = ModelManager(cache_dir="/x").model("yolact_base")
    assert "no published SHA-256" in unrecorded.checks and "loads as one" in unrecorded.checks
    recorded = OfficialModel("yolact_base", "f.pth", "http://127.0.0.1/f.pth", 0, 0, size=1, sha256="a" * 64)
    assert "matches the published one" in recorded.checks


def test_a_second_download_of_the_same_file_waits_then_uses_the_first_ones(server, tmp_path, checkpoint_bytes):
    """Cluster jobs sharing a cache: one downloads, the others wait for it instead of writing the same .part."""
    from protolabel.segmentation.model_manager import _DownloadLock

    manager = ModelManager(tmp_path)
    model = server.model()
    tmp_path.mkdir(exist_ok=True)
    other = _DownloadLock(tmp_path / (FILE + ".lock"), None, None, FILE).__enter__()  # "another process"
    notes, outcome = [], []
    worker = threading.Thread(target=lambda: outcome.append(manager.download(model, on_wait=notes.append)), daemon=True)
    worker.start()
    try:
        for _ in range(1200):  # up to a minute for the worker to reach the lock
            if notes:
                break
            threading.Event().wait(0.05)
        assert notes and "waiting for another download" in notes[0]
        assert worker.is_alive() and server.ranges == []
        (tmp_path / FILE).write_bytes(checkpoint_bytes)  # what the other process put there
    finally:
        other.__exit__(None, None, None)
    worker.join(timeout=120)
    assert outcome == [tmp_path / FILE] and server.ranges == []  # checked, not fetched again
