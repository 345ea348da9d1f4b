"""Model manager against a local HTTP server on 127.0.0.1: download, resume, cancel, verify, no network."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from protolabel.segmentation.model_manager import (
    OFFICIAL_MODELS,
    DownloadCancelled,
    ModelDownloadError,
    ModelManager,
    NoNetworkError,
    OfficialModel,
    default_cache_dir,
    expected_size_range,
    tensor_bytes,
)
from protolabel.segmentation.yolact.checkpoint import load_yolact

FILE = "yolact_resnet50_54_800000.pth"


class _Server:
    """Serves one file; can honour Range, cut a response short once, or answer 404."""

    def __init__(self, data: bytes):
        self.data = data
        self.honour_range = True
        self.cut_after: int | None = None  # bytes, for the next response only
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.startswith("/" + FILE):
                    self.send_error(404, "Not Found")
                    return
                requested = self.headers.get("Range")
                server.ranges.append(requested)
                start = 0
                if requested and server.honour_range:
                    start = int(requested.split("=")[1].rstrip("-"))
                    if start >= len(server.data):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.data) - 1}/{len(server.data)}")
                else:
                    self.send_response(200)
                body = server.data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None:
                    body, server.cut_after = body[: server.cut_after], None
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def model(self, name: str = FILE) -> OfficialModel:
        return OfficialModel("yolact_resnet50", FILE, f"http://127.0.0.1:{self.port}/{name}?download=true", 42.5, 28.2)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def checkpoint_bytes(resnet50_checkpoint):
    return resnet50_checkpoint.read_bytes()


@pytest.fixture
def server(checkpoint_bytes):
    s = _Server(checkpoint_bytes)
    yield s
    s.close()


def test_official_addresses_are_the_published_ones():
    assert len(OFFICIAL_MODELS) == 6
    resnet = ModelManager(cache_dir="/x").model("yolact_resnet50")
    assert resnet.url == ("https://huggingface.co/dbolya/yolact-resnet50/resolve/main/"
                          "yolact_resnet50_54_800000.pth?download=true")
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
    bad = _Server(b"<html>Please log in</html>" * 1000)
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


class _EndlessBody(_Server):
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
                        self.wfile.write(body[i:i + (1 << 20)])
                        outer.served += len(body[i:i + (1 << 20)])
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
        model = OfficialModel("yolact_resnet50", FILE, f"http://127.0.0.1:{big.port}/{FILE}", 0, 0,
                              size=len(checkpoint_bytes))
        manager = ModelManager(tmp_path)
        with pytest.raises(ModelDownloadError, match=f"{len(checkpoint_bytes):,} bytes"):
            manager.download(model)
        assert not manager.partial_path(model).exists() and not manager.is_downloaded(model)
        assert not any(p.stat().st_size > len(checkpoint_bytes) for p in tmp_path.iterdir())
    finally:
        big.close()


def test_size_bounds_from_the_model_hold_a_real_checkpoint_and_refuse_a_padded_one(resnet50_checkpoint):
    model = ModelManager(cache_dir="/x").model("yolact_resnet50")
    assert model.size is None and model.sha256 is None  # not recorded: the fallback applies
    smallest, largest = expected_size_range(model)
    assert smallest <= resnet50_checkpoint.stat().st_size <= largest
    assert largest < 400_000_000 and largest < 1.02 * smallest


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
    data[len(data) // 2: len(data) // 2 + 4096] = junk * 4096  # same size, damaged inside
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
