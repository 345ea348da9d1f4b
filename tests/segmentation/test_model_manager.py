"""Model manager against a local HTTP server on 127.0.0.1: download, resume, cancel, verify, no network."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from segmentation.model_manager import (
    OFFICIAL_MODELS,
    DownloadCancelled,
    ModelDownloadError,
    ModelManager,
    NoNetworkError,
    OfficialModel,
    default_cache_dir,
)
from segmentation.yolact.checkpoint import load_yolact

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
