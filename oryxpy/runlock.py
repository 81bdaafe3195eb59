"""What makes ``oryxpy run`` safe to start twice or to crash: a state-directory lock, a port check, a parent-death signal."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from oryxpy.errors import OryxError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class StateLock:
    """An exclusive ``flock`` on a file in the state directory, holding the owner's pid; refused while another holds it.

    The lock belongs to the open file, so it goes away with the process however it ends (kill -9 included); the
    file descriptor is not inherited by the layers.
    """

    def __init__(self, path: Path, state_dir: Path):
        self.path = path
        self.state_dir = state_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OryxError(f"cannot open the lock file {self.path} of the state directory: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OryxError(f"cannot lock {self.path}: {exc}") from exc
            who = f"pid {holder}" if holder else "another process"
            raise OryxError(f"the state directory {self.state_dir} is in use by another `oryxpy run` ({who}, lock "
                            f"{self.path}); stop it first, or give this one its own oryx.embedded.state-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def check_port_free(host: str, port: int) -> None:
    """Raise OryxError naming the address when nothing could listen on ``host:port`` (bound the way uvicorn binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OryxError(f"cannot serve on {host}:{port}: the address is already in use (by another program or "
                                "another oryxpy); stop it or set oryx.serving.api.port") from None
            raise OryxError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent dies (Linux); None elsewhere."""
    if not sys.platform.startswith("linux"):
        log.warning("no parent-death signal on %s: layers may outlive a killed `oryxpy run`", sys.platform)
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def reap_previous_layers(run_dir: Path, layers: Iterable[str], grace_s: float) -> None:
    """Wait for layers a crashed ``oryxpy run`` of this state directory left (they got a parent-death signal and are
    stopping); SIGKILL those still alive after ``grace_s``. A pid is only touched while it still runs a layer command
    reading this run directory's config, so a reused pid is never signalled."""
    conf = str(run_dir / "effective-config.toml")
    left = {}
    for layer in layers:
        try:
            pid = int((run_dir / f"{layer}.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if _runs_layer(pid, conf):
            left[pid] = layer
    if not left:
        return
    log.warning("waiting up to %.0f s for the layers of a previous run to stop: %s", grace_s,
                ", ".join(f"{layer} (pid {pid})" for pid, layer in left.items()))
    deadline = time.monotonic() + grace_s
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = {pid: layer for pid, layer in left.items() if _runs_layer(pid, conf)}
    for pid, layer in left.items():
        log.warning("killing the %s layer of a previous run (pid %d): it did not stop", layer, pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _runs_layer(pid: int, conf: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":  # a zombie has stopped already
                return False
    except OSError:
        return False
    return "oryxpy.cli" in args and conf in args
