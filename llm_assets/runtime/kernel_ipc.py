"""Where a run's kernel server and HTML renderer listen, and how steps talk to them.

- `runtime_dir()`: this user's private directory (mode 0700) for their Unix sockets and the
  kernels' connection files (a claimed kernel runs code as this user).
- `socket_path(kind, run_id)`: the socket of the run's kernel server (`kernels`) or HTML
  renderer (`render`).
- One JSON line each way per connection: `listen`, `request`, `read_line`, `reply`.
- The processes behind them (children of the kernel server, not of the step): `alive`,
  `exited`, `reap`, `kill` (with its process group).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
from pathlib import Path

SOCKET_PATH_LIMIT = 100  # AF_UNIX paths are limited to ~107 bytes
KERNELS, RENDER = "kernels", "render"  # the socket kinds of a run


def runtime_dir() -> Path | None:
    """This user's private directory for kernel sockets and connection files, or None when it
    cannot be made private."""
    path = Path(tempfile.gettempdir()) / f"llm-assets-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not path.is_dir():
        return None
    return path


def socket_path(kind: str, run_id: str) -> Path | None:
    base = runtime_dir()
    path = None if base is None else base / f"{kind}-{run_id}.sock"
    return path if path is not None and len(str(path)) < SOCKET_PATH_LIMIT else None


def listen(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    return listener


def request(path: Path, message: dict, timeout: float, answer: bool = True) -> dict | None:
    """Send one line to the server at `path`; its one-line answer (None: it closed first)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        return read_line(sock) if answer else None


def read_line(sock: socket.socket) -> dict | None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def reply(client: socket.socket, answer: dict) -> None:
    try:
        client.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:  # the step gave up waiting; the kernel it would have got is its to kill
        if "pid" in answer:
            kill(answer["pid"])
    finally:
        client.close()


# ---- processes ---------------------------------------------------------------------------

def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exited(pid: int) -> bool:
    """A child of this process has exited (it is reaped)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done != 0


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def kill(pid: int) -> None:
    """SIGKILL a kernel and its process group (it leads one), or the process alone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
