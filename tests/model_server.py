"""A local HTTP server on 127.0.0.1 serving one checkpoint, for the model manager, `models` and `--weights NAME`
tests (the mirror and the official addresses alike)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from protolabel.segmentation.model_manager import OfficialModel

FILE = "yolact_resnet50_54_800000.pth"


class ModelServer:
    """Serves `data` as /FILE; can honour Range, cut a response short once, or answer 404 for other paths."""

    def __init__(self, data: bytes, name: str = FILE):
        self.data, self.name = data, name
        self.honour_range = True
        self.cut_after: int | None = None  # bytes, for the next response only
        self.ranges: list[str | None] = []  # the Range header of every request for the file
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.startswith("/" + server.name):
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
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the client stopped reading (a refused or cancelled download)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def model(self, name: str = FILE, **published) -> OfficialModel:
        """yolact_resnet50 at this server (`size=`, `sha256=` as published figures)."""
        return OfficialModel("yolact_resnet50", FILE, f"{self.url}/{name}?download=true", 42.5, 28.2, **published)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
