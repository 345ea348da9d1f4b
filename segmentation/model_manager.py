"""The official YOLACT checkpoints: where they are published, downloading them (resume, cancel), verifying them.

Downloads go to the user cache directory as `<file>.part` and become `<file>` only after the
complete file has been loaded as a YOLACT model. A cancelled or broken download keeps its
`.part`, and the next attempt asks the server for the rest (HTTP Range).
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class OfficialModel:
    """One checkpoint the YOLACT authors published (spec section 15)."""

    config: str
    file_name: str
    url: str
    fps: float  # Titan Xp, as published
    mask_ap: float  # COCO test-dev mask mAP, as published

    @property
    def description(self) -> str:
        return f"{self.config}: mask mAP {self.mask_ap}, {self.fps} fps on a Titan Xp"


_HF = "https://huggingface.co/dbolya/{repo}/resolve/main/{file}?download=true"

OFFICIAL_MODELS: tuple[OfficialModel, ...] = tuple(
    OfficialModel(config, file_name, _HF.format(repo=repo, file=file_name), fps, ap)
    for config, repo, file_name, fps, ap in (
        ("yolact_resnet50", "yolact-resnet50", "yolact_resnet50_54_800000.pth", 42.5, 28.2),
        ("yolact_darknet53", "yolact-darknet53", "yolact_darknet53_54_800000.pth", 40.0, 28.7),
        ("yolact_base", "yolact-base", "yolact_base_54_800000.pth", 33.5, 29.8),
        ("yolact_im700", "yolact-im700", "yolact_im700_54_800000.pth", 23.6, 31.2),
        ("yolact_plus_resnet50", "yolact-plus-resnet50", "yolact_plus_resnet50_54_800000.pth", 33.5, 34.1),
        ("yolact_plus_base", "yolact-plus-base", "yolact_plus_base_54_800000.pth", 27.3, 34.6),
    )
)


class ModelDownloadError(Exception):
    """A download failed; the message says why and what to do."""


class NoNetworkError(ModelDownloadError):
    """The download address cannot be reached at all."""


class DownloadCancelled(ModelDownloadError):
    """The user cancelled; the partial file is kept for a later resume."""


def default_cache_dir() -> Path:
    """Where downloaded weights live: $PROTOLABEL_CACHE_DIR, else the platform's user cache folder."""
    if env := os.environ.get("PROTOLABEL_CACHE_DIR"):
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "protolabel" / "models"


ProgressCallback = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


class ModelManager:
    """Finds, downloads and verifies official checkpoints in a cache folder."""

    def __init__(self, cache_dir: str | Path | None = None, models: tuple[OfficialModel, ...] = OFFICIAL_MODELS,
                 timeout: float = 20.0) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.models = models
        self.timeout = timeout

    def model(self, config: str) -> OfficialModel:
        for model in self.models:
            if model.config == config:
                return model
        raise KeyError(f"no official checkpoint for {config!r}; known: {', '.join(m.config for m in self.models)}")

    def path_for(self, model: OfficialModel) -> Path:
        return self.cache_dir / model.file_name

    def partial_path(self, model: OfficialModel) -> Path:
        return self.cache_dir / (model.file_name + ".part")

    def is_downloaded(self, model: OfficialModel) -> bool:
        return self.path_for(model).is_file()

    def partial_bytes(self, model: OfficialModel) -> int:
        part = self.partial_path(model)
        return part.stat().st_size if part.is_file() else 0

    def download(
        self,
        model: OfficialModel,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Download (resuming a `.part` when the server allows), verify by loading, return the final path."""
        final = self.path_for(model)
        if final.is_file():
            return final
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelDownloadError(f"Cannot create the model cache {self.cache_dir}: {exc.strerror or exc}") from None
        part = self.partial_path(model)
        self._fetch(model, part, progress, cancel)
        self._verify(model, part)
        os.replace(part, final)
        return final

    def _fetch(self, model: OfficialModel, part: Path, progress: ProgressCallback | None,
               cancel: threading.Event | None) -> None:
        have = part.stat().st_size if part.is_file() else 0
        request = urllib.request.Request(model.url, headers={"User-Agent": "protolabel"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        host = urlparse(model.url).hostname or model.url
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 (fixed https addresses)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to send: the .part is already complete
                return
            raise ModelDownloadError(f"Downloading {model.file_name} failed: the server answered {exc.code} "
                                     f"{exc.reason} ({model.url})") from None
        except (urllib.error.URLError, OSError) as exc:
            raise _network_error(host, exc) from None
        with response:
            if have and response.status != 206:
                have = 0  # the server ignored the Range header: start over
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None and length.isdigit() else None
            try:
                with open(part, "ab" if have else "wb") as out:
                    done = have
                    if progress:
                        progress(done, total)
                    while True:
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled(f"Download of {model.file_name} cancelled; "
                                                    f"{done} bytes kept, it resumes next time")
                        chunk = response.read(CHUNK_SIZE)
                        if not chunk:
                            break
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
                    out.flush()
                    os.fsync(out.fileno())
            except (socket.timeout, ConnectionError, urllib.error.URLError) as exc:
                raise ModelDownloadError(f"Download of {model.file_name} was interrupted ({exc}); "
                                         "the part already received is kept, try again to resume") from None
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise ModelDownloadError(f"Not enough disk space in {self.cache_dir} for {model.file_name}") from None
                raise ModelDownloadError(f"Download of {model.file_name} was interrupted ({exc}); "
                                         "try again to resume") from None
        if total is not None and done < total:
            raise ModelDownloadError(f"Download of {model.file_name} stopped at {done} of {total} bytes; "
                                     "try again to resume")

    def _verify(self, model: OfficialModel, part: Path) -> None:
        from segmentation.yolact.checkpoint import load_yolact  # torch only when a file must be checked

        try:
            load_yolact(part, model.config)
        except Exception as exc:
            part.unlink(missing_ok=True)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelDownloadError(f"The downloaded {model.file_name} is not a usable {model.config} checkpoint "
                                     f"({reason}); it was deleted, try the download again") from None


def _network_error(host: str, exc: BaseException) -> ModelDownloadError:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.gaierror, ConnectionRefusedError, ConnectionResetError, TimeoutError,
                           socket.timeout, OSError)):
        return NoNetworkError(
            f"No network connection to {host} ({reason}). Check the connection, or download the file on "
            "another computer and open it as a local .pth file."
        )
    return ModelDownloadError(f"Cannot download from {host}: {reason}")
