"""Notebook kernels of a run: pre-started ones from the run's kernel server
(llm_assets.runtime.kernel_server), else a kernel started as jupyter_client always does.

- The run worker starts the server (`KernelServer`, from llm_assets.defs.executor) with the
  number of notebook steps of the run and the number of step slots.
- A step's papermill/nbclient run uses `kernel_manager_class(run_id)`: its kernel manager
  claims a warm kernel from the server (the step's environment and working directory go with
  the claim) and drives it like any kernel (interrupt, shutdown, kill, death detection).  When
  no server answers, it starts a kernel the usual way.

`LLM_ASSETS_WARM_KERNELS`: kernels kept ready per run (default: the executor's step slots;
0: every step starts its own kernel, as before).
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import tempfile
import time
import uuid
from pathlib import Path

from llm_assets.core import settings

WARM_KERNELS_ENV = "LLM_ASSETS_WARM_KERNELS"
CLAIM_WAIT = 120.0  # s a step waits for a kernel (jupyter_client's start timeout is 60-120 s)
# what a warm kernel's interpreter has imported before any notebook runs (the run's
# forkserver imports them once; the kernel server and its kernels are its children)
KERNEL_PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "IPython.core.interactiveshell",
                  "jupyter_client", "tornado.ioloop", "dagstermill", "scrapbook")


def warm_kernels(slots: int) -> int:
    value = settings.optional_number(WARM_KERNELS_ENV, whole=True)
    return slots if value is None else int(value)


def runtime_dir() -> Path | None:
    """This user's private directory for kernel sockets and connection files (mode 0700: a
    claimed kernel runs code as this user), or None when it cannot be made private."""
    path = Path(tempfile.gettempdir()) / f"llm-assets-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not path.is_dir():
        return None
    return path


def socket_path(run_id: str) -> Path | None:
    base = runtime_dir()
    if base is None:
        return None
    path = base / f"kernels-{run_id}.sock"
    return path if len(str(path)) < 100 else None  # AF_UNIX paths are limited to ~107 bytes


# ---- the run worker's side ---------------------------------------------------------------

class KernelServer:
    """The run's kernel server, a child of the run's forkserver (started with `context`, a
    multiprocessing forkserver context whose preload includes KERNEL_PRELOAD)."""

    def __init__(self, run_id: str, budget: int, warm: int, recon_job=None):
        self.run_id, self.budget, self.warm, self.recon_job = run_id, budget, warm, recon_job
        self.path = socket_path(run_id)
        self.render_path: Path | None = None
        self.process = None

    def start(self, context) -> bool:
        from llm_assets.runtime import html_render, kernel_server

        self.render_path = html_render.socket_path(self.run_id)
        if self.path is None or self.render_path is None or self.budget <= 0 or self.warm <= 0:
            return False
        # steps may connect before the server and its renderer run: they queue here
        listener, render_listener = _listen(self.path), _listen(self.render_path)
        self.process = context.Process(
            target=kernel_server.serve, name="llm-assets-kernel-server",
            args=(listener, str(self.path.parent), self.budget, self.warm, self.recon_job,
                  render_listener))
        self.process.start()
        listener.close()
        render_listener.close()
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            _request(self.path, {"op": "stop"}, timeout=5, answer=False)
        except OSError:
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.path.unlink(missing_ok=True)
        self.render_path.unlink(missing_ok=True)
        self.process = None


def _listen(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    return listener


# ---- the step's side ---------------------------------------------------------------------

def claim(run_id: str, env: dict, cwd: str, timeout: float = CLAIM_WAIT) -> dict | None:
    """A warm kernel of the run's server, or None (no server, or it did not answer)."""
    path = socket_path(run_id)
    if path is None or not path.exists():
        return None
    try:
        return _request(path, {"op": "claim", "env": env, "cwd": cwd, "claimer": os.getpid()},
                        timeout=timeout)
    except (OSError, ValueError):
        return None


def status(run_id: str) -> dict | None:
    path = socket_path(run_id)
    return None if path is None else _request(path, {"op": "status"}, timeout=10)


def _request(path: Path, message: dict, timeout: float, answer: bool = True) -> dict | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        if not answer:
            return None
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
    return json.loads(data)


class ClaimedProcess:
    """A claimed kernel process (a child of the kernel server, not of this process), with the
    part of `subprocess.Popen` jupyter_client uses; its end is seen through a pidfd."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux >= 5.3: poll the pid
            self._pidfd = None

    def poll(self) -> int | None:
        if self.returncode is None and self._exited():
            self.returncode = 0  # not our child: its exit status is the server's to read
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def _exited(self) -> bool:
        if self._pidfd is not None:
            return bool(select.select([self._pidfd], [], [], 0)[0])
        try:
            os.kill(self.pid, 0)
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except (ProcessLookupError, FileNotFoundError):
            return True
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"kernel {self.pid} still running")
            time.sleep(0.005)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _quick_ready_client():
    """jupyter_client's async kernel client, waiting for a kernel as jupyter_client does
    (kernel_info reply, IOPub connected) but draining IOPub for 10 ms after, not 200 ms: a
    later message answers a request nbclient does not wait on (it matches each reply to its
    request by parent message id)."""
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class QuickReadyClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    pass
                else:
                    if msg["msg_type"] == "kernel_info_reply":
                        try:  # IOPub is connected once it passes the reply's status on
                            await self.iopub_channel.get_msg(timeout=0.2)
                        except Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(msg)
                            break
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.01)
                except Empty:
                    break

    return QuickReadyClient


def kernel_manager_class(run_id: str, on_start=None):
    """The kernel manager class for a step of run `run_id` (nbclient's `kernel_manager_class`;
    papermill passes it through).  `on_start()` is called once the kernel runs: what the step
    can prepare while it waits on the kernel."""
    from jupyter_client.manager import AsyncKernelManager, KernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import default

    class WarmKernelProvisioner(LocalProvisioner):
        """Launches by claiming a warm kernel; the usual launch when there is none."""

        claimed: dict | None = None

        async def launch_kernel(self, cmd, **kwargs):
            env = kwargs.get("env") or dict(os.environ)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            loop = asyncio.get_running_loop()
            claimed = await loop.run_in_executor(None, claim, run_id, env, cwd)
            if claimed is None:
                return await super().launch_kernel(cmd, **kwargs)
            WarmKernelManager.claims.append(claimed)
            self.process = ClaimedProcess(claimed["pid"])
            self.pid = self.pgid = claimed["pid"]  # the kernel leads its own process group
            self.ports_cached = False  # its ports are its own, not this process's port cache
            info = dict(claimed["connection"])
            info["key"] = info["key"].encode()
            self.connection_info = info
            return info

        async def wait(self):
            if isinstance(self.process, ClaimedProcess):
                while await self.poll() is None:
                    await asyncio.sleep(0.005)
                self.process = None
                return 0
            return await super().wait()

    class WarmKernelManager(AsyncKernelManager):
        claims: list[dict] = []  # noqa: RUF012 - what this step claimed (for its log)

        @default("client_factory")
        def _quick_ready(self):
            return _quick_ready_client()

        async def pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = WarmKernelProvisioner(
                    kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await KernelManager._async_pre_start_kernel(self, **kw)

        async def post_start_kernel(self, **kw):
            await KernelManager._async_post_start_kernel(self, **kw)
            if on_start is not None:
                on_start()

        async def finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
            # the kernel's exit is watched every 5 ms, not every 100 ms
            return await KernelManager._async_finish_shutdown(self, waittime, 0.005, restart)

    return WarmKernelManager
