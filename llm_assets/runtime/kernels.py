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
import os
import select
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from llm_assets.core import settings
from llm_assets.runtime.kernel_ipc import KERNELS, RENDER, listen, request, socket_path

WARM_KERNELS_ENV = "LLM_ASSETS_WARM_KERNELS"
CLAIM_WAIT = 120.0  # s a step waits for a kernel (jupyter_client's start timeout is 60-120 s)
# what a warm kernel's interpreter has imported before any notebook runs (the run's
# forkserver imports them once; the kernel server and its kernels are its children)
KERNEL_PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "IPython.core.interactiveshell",
                  "jupyter_client", "tornado.ioloop", "dagstermill", "scrapbook")


def warm_kernels(slots: int) -> int:
    value = settings.optional_number(WARM_KERNELS_ENV, whole=True)
    return slots if value is None else int(value)


# ---- the run worker's side ---------------------------------------------------------------

class KernelServer:
    """The run's kernel server, a child of the run's forkserver (started with `context`, a
    multiprocessing forkserver context whose preload includes KERNEL_PRELOAD)."""

    def __init__(self, run_id: str, budget: int, warm: int, recon_job=None):
        self.run_id, self.budget, self.warm, self.recon_job = run_id, budget, warm, recon_job
        self.path = socket_path(KERNELS, run_id)
        self.render_path = socket_path(RENDER, run_id)
        self.process: Any = None

    def start(self, context) -> bool:
        from llm_assets.runtime import kernel_server

        if self.path is None or self.render_path is None or self.budget <= 0 or self.warm <= 0:
            return False
        # steps may connect before the server and its renderer run: they queue here
        listener, render_listener = listen(self.path), listen(self.render_path)
        process = context.Process(
            target=kernel_server.serve, name="llm-assets-kernel-server",
            args=(listener, str(self.path.parent), self.budget, self.warm, self.recon_job,
                  render_listener))
        process.start()
        listener.close()
        render_listener.close()
        self.process = process
        return True

    def stop(self) -> None:
        if self.process is None or self.path is None:
            return
        try:
            request(self.path, {"op": "stop"}, timeout=5, answer=False)
        except OSError:
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.path.unlink(missing_ok=True)
        if self.render_path is not None:
            self.render_path.unlink(missing_ok=True)
        self.process = None


# ---- the step's side ---------------------------------------------------------------------

def claim(run_id: str, env: dict, cwd: str, timeout: float = CLAIM_WAIT) -> dict | None:
    """A warm kernel of the run's server, or None (no server, or it did not answer)."""
    path = socket_path(KERNELS, run_id)
    if path is None or not path.exists():
        return None
    try:
        return request(path, {"op": "claim", "env": env, "cwd": cwd, "claimer": os.getpid()},
                        timeout=timeout)
    except (OSError, ValueError):
        return None


def status(run_id: str) -> dict | None:
    path = socket_path(KERNELS, run_id)
    return None if path is None else request(path, {"op": "status"}, timeout=10)


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
            self.process = ClaimedProcess(claimed["pid"])  # type: ignore[assignment]
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
