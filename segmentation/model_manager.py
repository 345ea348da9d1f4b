"""The official YOLACT checkpoints: where they are published, downloading them (resume, cancel), verifying them.

Downloads go to the user cache directory as `<file>.part` and become `<file>` only after the
complete file passed verification: its size (the published size, else the bounds the model's
own tensors give), its SHA-256 where one is recorded, and loading it as the named config. Files
come from the authors' addresses, or from `$PROTOLABEL_MODEL_MIRROR/<file name>` (sites behind a
firewall, offline mirrors), verified the same way. A
cancelled or broken download keeps its `.part`, and the next attempt asks the server for the rest
(HTTP Range). A cached file is checked again before it is used (a stamp remembers a file that
passed, so a good file is not re-hashed every time); a corrupt one is deleted and downloaded again.
"""

from __future__ import annotations

import errno
import functools
import http.client
import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from protolabel.segmentation.errors import first_line
from protolabel.segmentation.files import atomic_write_text, file_sha256
from protolabel.segmentation.os_locks import try_lock, unlock

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
CANCEL_POLL_S = 0.1  # how often a download looks at its cancel flag while the server sends nothing
SIZE_SLACK = 0.01  # pickle framing on top of the tensor bytes: 0.1 % in practice, 1 % allowed
SIZE_SLACK_BYTES = 1 << 20
MIRROR_ENV = "PROTOLABEL_MODEL_MIRROR"
DISK_MARGIN_BYTES = 64 << 20  # left free after a download, so the disk is not filled to the last byte


@dataclass(frozen=True)
class OfficialModel:
    """One checkpoint the YOLACT authors published (spec section 15)."""

    config: str
    file_name: str
    url: str
    fps: float  # Titan Xp, as published
    mask_ap: float  # COCO test-dev mask mAP, as published
    size: int | None = None  # bytes, as published; None: not recorded (see OFFICIAL_MODELS)
    sha256: str | None = None  # hex digest, as published; None: not recorded

    @property
    def description(self) -> str:
        return f"{self.config}: mask mAP {self.mask_ap}, {self.fps} fps on a Titan Xp"

    @property
    def checks(self) -> str:
        """What verification can say about this file, in plain words (no published digest: no claim of one)."""
        if self.sha256 is not None:
            return "its SHA-256 matches the published one and it loads as " + self.config
        return (
            f"its size fits {self.config} and it loads as one; no published SHA-256 is recorded, so it is "
            "not proven to be the authors' file"
        )


_HF = "https://huggingface.co/dbolya/{repo}/resolve/main/{file}?download=true"

# Published size and SHA-256 of yolact_resnet50_54_800000.pth as OpenVINO's Open Model Zoo records them
# (openvinotoolkit/open_model_zoo, models/public/yolact-resnet50-fpn-pytorch/model.yml): the file the
# YOLACT README's Google Drive link served, which the Hugging Face re-upload is said to be by its author.
# Only that digest passes. No size or digest was found for the other five files: they are checked by
# the fallback (`expected_size_range`: their tensors, the leftover layer, framing) and loading as the config.
_PUBLISHED = {
    "yolact_resnet50_54_800000.pth": (127_300_392, "c12bb7a7e0343281db7f1407b376970bb52651f121d0b60bc4a49207acb6d6d7"),
}

OFFICIAL_MODELS: tuple[OfficialModel, ...] = tuple(
    OfficialModel(config, file_name, _HF.format(repo=repo, file=file_name), fps, ap, *_PUBLISHED.get(file_name, ()))
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


@functools.cache  # building the model takes seconds on a busy machine; `models list` asks twelve times
def _state_dict_bytes(config: str) -> tuple[tuple[str, int], ...]:
    """(key, bytes) of each tensor of `config`'s state dict (the model built on the meta device: no memory)."""
    import torch  # only when a size must be known

    from protolabel.segmentation.yolact.config import config_for_name
    from protolabel.segmentation.yolact.model import Yolact

    with torch.device("meta"):
        model = Yolact(config_for_name(config))
    return tuple((key, t.numel() * t.element_size()) for key, t in model.state_dict().items())


def tensor_bytes(config: str) -> int:
    """Bytes of the tensors an official checkpoint of `config` holds (what the model itself loads)."""
    return sum(n for _, n in _state_dict_bytes(config))


def leftover_layer_bytes(config: str) -> int:
    """Bytes of the third FPN downsample layer the released files still carry (the loader drops it).

    YOLACT v1.0 had one more downsample level; the released checkpoints kept its weights
    (`fpn.downsample_layers.2.*`, spec section 11), shaped like the model's own downsample layers.
    """
    return sum(n for key, n in _state_dict_bytes(config) if key.startswith("fpn.downsample_layers.0."))


def expected_size_range(model: OfficialModel) -> tuple[int, int]:
    """(smallest, largest) acceptable file size in bytes: the published size, else the tensors' bytes
    (a re-saved file without the leftover layer) to those plus the leftover layer and the framing."""
    if model.size is not None:
        return model.size, model.size
    payload = tensor_bytes(model.config)
    released = payload + leftover_layer_bytes(model.config)
    return payload, released + int(released * SIZE_SLACK) + SIZE_SLACK_BYTES


def find_official(name: str, models: tuple[OfficialModel, ...] | None = None) -> OfficialModel | None:
    """The official model `name` means: a config name (`yolact_resnet50`) or an official file name."""
    for model in OFFICIAL_MODELS if models is None else models:
        if name in (model.config, model.file_name):
            return model
    return None


def check_mirror(url: str) -> str:
    """`url` without trailing slashes, or ValueError saying what a mirror address must look like."""
    url = url.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(
            f"model mirror {url!r} is not an http:// or https:// address "
            "(files are fetched from MIRROR/<official file name>)"
        )
    return url


def check_file(model: OfficialModel, path: Path) -> str | None:
    """What is wrong with `path` as `model`'s file (size, SHA-256 where recorded, loads as the config), or None.

    Reads the file only; deleting a bad download is the caller's business.
    """
    smallest, largest = expected_size_range(model)
    size = path.stat().st_size
    if not smallest <= size <= largest:
        expected = f"{smallest:,}" if smallest == largest else f"{smallest:,} to {largest:,}"
        return f"it is {size:,} bytes, expected {expected}"
    if model.sha256 is not None and file_sha256(path) != model.sha256.lower():
        return "its SHA-256 differs from the published one"
    from protolabel.segmentation.yolact.checkpoint import load_yolact  # torch only when a file must be checked

    try:
        load_yolact(path, model.config)
    except Exception as exc:  # noqa: BLE001 whatever is wrong with the file, the answer is the same
        logger.warning("%s does not load as %s", path, model.config, exc_info=True)
        return first_line(exc)
    return None


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

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        models: tuple[OfficialModel, ...] | None = None,
        timeout: float = 20.0,
        mirror: str | None = None,
    ) -> None:
        """`models` None: OFFICIAL_MODELS; `mirror` None: $PROTOLABEL_MODEL_MIRROR, '' the published addresses."""
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.models = OFFICIAL_MODELS if models is None else models
        self.timeout = timeout
        self.mirror = os.environ.get(MIRROR_ENV, "") if mirror is None else mirror

    @property
    def mirror(self) -> str:
        """The address official files are fetched from instead of the authors' ('' for those)."""
        return self._mirror

    @mirror.setter
    def mirror(self, url: str) -> None:
        self._mirror = url.strip().rstrip("/")  # checked when used: a bad setting must not stop the app starting

    def url_for(self, model: OfficialModel) -> str:
        """Where `model` is downloaded from: MIRROR/<file name> when a mirror is set, else the published address."""
        if not self.mirror:
            return model.url
        try:
            return f"{check_mirror(self.mirror)}/{quote(model.file_name)}"
        except ValueError as exc:
            raise ModelDownloadError(
                f"Cannot download {model.file_name}: {exc}; set {MIRROR_ENV} (or the mirror "
                "in Official Models…) to an address like http://host/models"
            ) from None

    def model(self, config: str) -> OfficialModel:
        """The official model named by config or file name (KeyError listing the known ones)."""
        if (model := find_official(config, self.models)) is not None:
            return model
        raise KeyError(f"no official checkpoint for {config!r}; known: {', '.join(m.config for m in self.models)}")

    def path_for(self, model: OfficialModel) -> Path:
        return self.cache_dir / model.file_name

    def partial_path(self, model: OfficialModel) -> Path:
        return self.cache_dir / (model.file_name + ".part")

    def stamp_path(self, model: OfficialModel) -> Path:
        return self.cache_dir / (model.file_name + ".verified")

    def is_downloaded(self, model: OfficialModel) -> bool:
        """The file is in the cache (`verified_path` checks it before use)."""
        return self.path_for(model).is_file()

    def is_verified(self, model: OfficialModel) -> bool:
        """The cached file is unchanged since it passed verification (a stamp: no hashing, cheap for a list)."""
        return self._stamp_matches(model)

    def verified_path(self, model: OfficialModel) -> Path:
        """The cached file after checking it (size, SHA-256 where recorded, loads as its config); no network.

        Raises ModelDownloadError when it is missing, or corrupt (then it is deleted: download it again).
        """
        final = self.path_for(model)
        if not final.is_file():
            raise ModelDownloadError(f"{model.file_name} is not in {self.cache_dir}; download it first")
        if not self._stamp_matches(model):
            self._check_against_stamp(model, final)
            self._verify(model, final)
            self._write_stamp(model, final)
        return final

    def partial_bytes(self, model: OfficialModel) -> int:
        part = self.partial_path(model)
        return part.stat().st_size if part.is_file() else 0

    def download(
        self,
        model: OfficialModel,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Path:
        """Download (resuming a `.part` when the server allows), verify, return the final path.

        A file already in the cache is verified first (unless its stamp shows it passed before); a
        corrupt one is deleted and downloaded again. One download of a file at a time per cache (cluster
        jobs sharing a home folder): another waits, told through `on_wait`, then uses the file.
        """
        final = self.path_for(model)
        if final.is_file():
            try:
                return self.verified_path(model)
            except ModelDownloadError:
                pass  # the corrupt file was deleted: download it again below
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelDownloadError(f"Cannot create the model cache {self.cache_dir}: {exc.strerror or exc}") from None
        with _DownloadLock(self.cache_dir / (model.file_name + ".lock"), cancel, on_wait, model.file_name):
            if final.is_file():  # another process finished it while this one waited
                return self.verified_path(model)
            part = self.partial_path(model)
            smallest, largest = expected_size_range(model)
            self._check_free_space(model, largest - self.partial_bytes(model))
            self._fetch(model, part, progress, cancel, largest)
            self._verify(model, part, self.url_for(model))
            os.replace(part, final)
            self._write_stamp(model, final)
        return final

    def _check_free_space(self, model: OfficialModel, needed: int) -> None:
        try:
            free = shutil.disk_usage(self.cache_dir).free
        except OSError:
            return  # cannot tell: the write itself reports a full disk
        if free < needed + DISK_MARGIN_BYTES:
            raise ModelDownloadError(
                f"Not enough disk space in {self.cache_dir} for {model.file_name}: it needs {_mb(needed)} MB more "
                f"(plus {_mb(DISK_MARGIN_BYTES)} MB to spare) and {_mb(free)} MB are free. Free some space, or set "
                "PROTOLABEL_CACHE_DIR to a folder on a larger disk."
            )

    # ---------------------------------------------------------------- verification stamp
    def _stamp_matches(self, model: OfficialModel) -> bool:
        final = self.path_for(model)
        try:
            stamp = json.loads(self.stamp_path(model).read_text(encoding="utf-8"))
            st = final.stat()
        except (OSError, ValueError):
            return False
        if not isinstance(stamp, dict):
            return False
        # The digest the file was checked against is part of the stamp: a newly recorded one re-checks the file.
        return (stamp.get("size"), stamp.get("mtime_ns"), stamp.get("sha256")) == (
            st.st_size,
            st.st_mtime_ns,
            model.sha256,
        )

    def _check_against_stamp(self, model: OfficialModel, final: Path) -> None:
        """A file that changed since it passed verification is corrupt, even if it still loads.

        The stamp records the file's own SHA-256 when it passed (trust on first download, as no digest is
        published): a block of zeros written into the file keeps its size and loads, but changes this."""
        try:
            stamp = json.loads(self.stamp_path(model).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # never verified here (or the stamp is unreadable): the full check decides
        recorded = stamp.get("file_sha256") if isinstance(stamp, dict) else None
        if isinstance(recorded, str) and file_sha256(final) != recorded:
            final.unlink(missing_ok=True)
            self.stamp_path(model).unlink(missing_ok=True)
            raise ModelDownloadError(
                f"The cached {model.file_name} changed since it was downloaded and verified "
                "(its SHA-256 differs); it was deleted, download it again"
            )

    def _write_stamp(self, model: OfficialModel, final: Path) -> None:
        st = final.stat()
        stamp = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": model.sha256,
            "file_sha256": file_sha256(final),
        }
        try:
            atomic_write_text(self.stamp_path(model), json.dumps(stamp))
        except OSError:
            pass  # without a stamp the file is simply verified again next time

    def _fetch(
        self,
        model: OfficialModel,
        part: Path,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        largest: int,
    ) -> None:
        have = part.stat().st_size if part.is_file() else 0
        if have > largest:  # a .part longer than the model can be: start over
            have = 0
        url = self.url_for(model)
        request = urllib.request.Request(url, headers={"User-Agent": "protolabel"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        host = urlparse(url).hostname or url
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 (http(s) only: check_mirror)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to send: the .part is already complete
                return
            raise ModelDownloadError(
                f"Downloading {model.file_name} failed: the server answered {exc.code} {exc.reason} ({url})"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise _network_error(host, exc, self.path_for(model)) from None
        finished = threading.Event()
        if cancel is not None:
            # A server that sends nothing leaves recv() waiting up to the timeout; shutting the socket
            # down from here wakes it, so a cancel takes effect within CANCEL_POLL_S.
            threading.Thread(target=_interrupt_on_cancel, args=(response, cancel, finished), daemon=True).start()
        try:
            with response:
                if have and response.status != 206:
                    have = 0  # the server ignored the Range header: start over
                length = response.headers.get("Content-Length")
                total = have + int(length) if length is not None and length.isdigit() else None
                if total is not None and total > largest:
                    raise ModelDownloadError(
                        f"The server offers {total:,} bytes for {model.file_name}, more than the {largest:,} bytes "
                        f"a {model.config} checkpoint can be; nothing was downloaded ({url})"
                    )
                done = self._receive(model, url, response, part, have, total, largest, progress, cancel)
        finally:
            finished.set()
        if total is not None and done < total:
            raise ModelDownloadError(
                f"Download of {model.file_name} stopped at {done:,} of {total:,} bytes; try again to resume"
            )

    def _receive(
        self,
        model: OfficialModel,
        url: str,
        response,
        part: Path,
        have: int,
        total: int | None,
        largest: int,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> int:
        """Write the body to `part`, checking `cancel` after every read (each returns what one recv got)."""

        def cancelled() -> DownloadCancelled:
            return DownloadCancelled(
                f"Download of {model.file_name} cancelled; {done} bytes kept, it resumes next time"
            )

        done = have
        try:
            with open(part, "ab" if have else "wb") as out:
                if progress:
                    progress(done, total)
                while True:
                    if cancel is not None and cancel.is_set():
                        raise cancelled()
                    try:
                        chunk = response.read1(CHUNK_SIZE)  # one recv: a trickling server cannot hold the loop
                    except (OSError, http.client.HTTPException):
                        if cancel is not None and cancel.is_set():
                            raise cancelled() from None
                        raise
                    if not chunk:
                        if cancel is not None and cancel.is_set():
                            raise cancelled()
                        break
                    if done + len(chunk) > largest:
                        out.close()
                        part.unlink(missing_ok=True)
                        raise ModelDownloadError(
                            f"The server sent more than the {largest:,} bytes a {model.config} checkpoint can be; "
                            f"the download of {model.file_name} was stopped and deleted ({url})"
                        )
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
        except (TimeoutError, ConnectionError, urllib.error.URLError, http.client.HTTPException) as exc:
            raise ModelDownloadError(
                f"Download of {model.file_name} was interrupted ({exc}); "
                "the part already received is kept, try again to resume"
            ) from None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ModelDownloadError(f"Not enough disk space in {self.cache_dir} for {model.file_name}") from None
            raise ModelDownloadError(
                f"Download of {model.file_name} was interrupted ({exc}); try again to resume"
            ) from None
        return done

    def _verify(self, model: OfficialModel, path: Path, url: str | None = None) -> None:
        """`check_file`, and a file that fails is deleted (with its stamp); `url`: where it came from."""
        if (problem := check_file(model, path)) is not None:
            path.unlink(missing_ok=True)
            self.stamp_path(model).unlink(missing_ok=True)
            source = f"; if this repeats, the file at {url} is not the published one" if url else ""
            raise ModelDownloadError(
                f"The downloaded {model.file_name} is not a usable {model.config} checkpoint "
                f"({problem}); it was deleted, try the download again{source}"
            )


class _DownloadLock:
    """An OS lock on `<file>.lock` in the cache while one process downloads that file (released at exit or crash).

    Waits in short polls, so a cancel or Ctrl+C still ends the wait. Not the project's writer lock
    (segmentation/project/lock.py): that one sits above this layer and refuses instead of waiting.
    """

    POLL_S = 0.2

    def __init__(
        self, path: Path, cancel: threading.Event | None, on_wait: Callable[[str], None] | None, what: str
    ) -> None:
        self.path, self.cancel, self.on_wait, self.what = path, cancel, on_wait, what
        self.fd: int | None = None

    def __enter__(self) -> _DownloadLock:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise ModelDownloadError(f"Cannot create {self.path}: {exc.strerror or exc}") from None
        told = False
        try:
            while not try_lock(self.fd):
                if not told and self.on_wait is not None:
                    self.on_wait(f"waiting for another download of {self.what} into {self.path.parent} to finish")
                    told = True
                if self.cancel is not None and self.cancel.wait(self.POLL_S):
                    raise DownloadCancelled(f"Download of {self.what} cancelled while waiting for another one")
                if self.cancel is None:
                    time.sleep(self.POLL_S)
        except BaseException:  # Ctrl+C while waiting included
            self._close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            unlock(fd)
        except OSError:
            pass  # closing the descriptor releases it anyway
        os.close(fd)


def _interrupt_on_cancel(response, cancel: threading.Event, finished: threading.Event) -> None:
    """Shut the response's socket down as soon as `cancel` is set (until `finished`)."""
    while not finished.is_set():
        if cancel.wait(CANCEL_POLL_S):
            sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)  # http.client's socket
            if sock is not None and not finished.is_set():
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return


def _mb(n: int) -> int:
    return max(0, n) // (1 << 20)


def _network_error(host: str, exc: BaseException, destination: Path) -> ModelDownloadError:
    reason = getattr(exc, "reason", exc)
    if isinstance(
        reason, (socket.gaierror, ConnectionRefusedError, ConnectionResetError, TimeoutError, socket.timeout, OSError)
    ):
        return NoNetworkError(
            f"No network connection to {host} ({reason}). Check the connection or the mirror ({MIRROR_ENV}), "
            f"or download the file on another computer and copy it to {destination} (it is verified before "
            "use), or open it as a local .pth file."
        )
    return ModelDownloadError(f"Cannot download from {host}: {reason}")
