"""Pre-started notebook kernels for one run: the server (the client is
llm_assets.runtime.kernels, a warm kernel llm_assets.runtime.warm_kernel, the sockets and
process helpers llm_assets.runtime.kernel_ipc).

The run worker starts one kernel server per run (llm_assets.defs.executor), as a child of the
run's forkserver: it has imported Dagster, llm_assets, dagstermill and ipykernel once, and it
builds the run's definitions once.  It keeps a few *warm* kernels ready: each is a fork of the
server that has initialized an IPython kernel (sockets, shell) and waits.  A step claims one
over the server's Unix socket; the kernel then takes the step's environment and working
directory and is used by that step only, then shut down.  A kernel is never reused, and each
is forked from the server (which never runs notebook code), so nothing of one process (its
variables, module state, open files) reaches the next process's kernel.  A warm kernel that
died or does not answer the claim is discarded and another one is used or started.

Protocol (one JSON line each way per connection):
    {"op": "claim", "env": {...}, "cwd": "...", "claimer": pid}
        -> {"pid": ..., "connection": {...}, "warm_s": seconds it waited, "started": epoch}
    {"op": "status"} -> {"warm": [pids ready], "claimed": [pids], "forked": n}
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from llm_assets.runtime import warm_kernel
from llm_assets.runtime.kernel_ipc import alive, exited, kill, read_line, reap, reply

CLAIM_TIMEOUT = 10.0  # s a warm kernel has to take a claim before it is discarded
WATCH_INTERVAL = 0.5  # s between checks of claimers that may have died


@dataclass
class _Kernel:
    pid: int
    channel: socket.socket  # the server's end of the kernel's socketpair
    forked: float
    ready_at: float | None = None
    connection: dict | None = None
    claimer: int | None = None
    buffer: bytes = b""


@dataclass
class _Server:
    listener: socket.socket
    runtime_dir: Path
    budget: int  # kernels to pre-start over the run (one per notebook step)
    warm: int    # kernels kept ready at once
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    kernels: dict[int, _Kernel] = field(default_factory=dict)
    waiting: list[tuple[socket.socket, dict]] = field(default_factory=list)
    forked: int = 0
    claimed: int = 0
    base_env: dict = field(default_factory=lambda: dict(os.environ))
    sys_path: list[str] = field(default_factory=list)

    # ---- warm kernels ------------------------------------------------------------------
    def fork_kernel(self) -> None:
        parent, child = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the warm kernel: never returns
            parent.close()
            self._close_in_child()
            warm_kernel.run(child, self.runtime_dir, self.base_env, self.sys_path)
        child.close()
        self.forked += 1
        kernel = _Kernel(pid=pid, channel=parent, forked=time.time())
        self.kernels[pid] = kernel
        self.selector.register(parent, selectors.EVENT_READ, ("kernel", pid))

    def _close_in_child(self) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for kernel in self.kernels.values():
            kernel.channel.close()
        for client, _ in self.waiting:
            client.close()
        self.listener.close()
        self.selector.close()

    def ready(self) -> list[_Kernel]:
        return sorted((k for k in self.kernels.values() if k.ready_at and k.claimer is None),
                      key=lambda k: k.ready_at or 0)

    def starting(self) -> int:
        return sum(1 for k in self.kernels.values() if k.ready_at is None)

    def top_up(self) -> None:
        """Keep `warm` kernels ready or starting while the run still has notebook steps to
        come (`budget`: a kernel that died before its claim is replaced); start one for any
        step waiting beyond that (a retry)."""
        while True:
            coming = self.starting() + len(self.ready())
            if not (coming < len(self.waiting)
                    or (coming < self.warm and self.claimed + coming < self.budget)):
                return
            self.fork_kernel()

    def discard(self, kernel: _Kernel) -> None:
        self.kernels.pop(kernel.pid, None)
        try:
            self.selector.unregister(kernel.channel)
        except (KeyError, ValueError):
            pass
        kernel.channel.close()
        self.end(kernel.pid)

    def end(self, pid: int) -> None:
        """Kill a kernel and remove its connection file (it cannot, killed)."""
        kill(pid)
        reap(pid)
        (self.runtime_dir / f"kernel-{pid}.json").unlink(missing_ok=True)

    def on_kernel_message(self, kernel: _Kernel) -> None:
        data = kernel.channel.recv(65536)
        if not data:  # the kernel died before its claim
            self.discard(kernel)
            return
        kernel.buffer += data
        if b"\n" in kernel.buffer:
            line, kernel.buffer = kernel.buffer.split(b"\n", 1)
            message = json.loads(line)
            kernel.connection = message["connection"]
            kernel.ready_at = time.time()
            self.selector.unregister(kernel.channel)  # next exchange: the claim (blocking)

    # ---- claims ------------------------------------------------------------------------
    def claim(self, request: dict) -> dict | None:
        """Hand a ready kernel to a step: it must take the step's environment and answer;
        one that is dead or silent is discarded and the next one tried."""
        for kernel in self.ready():
            if exited(kernel.pid):
                self.discard(kernel)
                continue
            message = {"env": request["env"], "cwd": request["cwd"]}
            try:
                kernel.channel.settimeout(CLAIM_TIMEOUT)
                kernel.channel.sendall(json.dumps(message).encode() + b"\n")
                answer = read_line(kernel.channel)
            except OSError:
                answer = None
            if answer != {"claimed": True}:
                self.discard(kernel)
                continue
            kernel.claimer = int(request["claimer"])
            kernel.channel.close()
            self.claimed += 1
            return {"pid": kernel.pid, "connection": kernel.connection,
                    "warm_s": time.time() - (kernel.ready_at or time.time()),
                    "started": kernel.forked}
        return None

    def serve_waiting(self) -> None:
        while self.waiting and self.ready():
            client, request = self.waiting[0]
            answer = self.claim(request)
            if answer is None:
                continue  # every ready kernel was discarded: wait for the next one
            self.waiting.pop(0)
            reply(client, answer)

    def on_client(self, client: socket.socket) -> bool:
        """One request; False when the run worker asked the server to stop."""
        client.settimeout(CLAIM_TIMEOUT)
        try:
            request = read_line(client)
        except OSError:
            request = None
        if request is None:
            client.close()
            return True
        if request.get("op") == "stop":
            client.close()
            return False
        if request.get("op") == "status":
            reply(client, {"warm": [k.pid for k in self.ready()],
                            "claimed": [k.pid for k in self.kernels.values() if k.claimer],
                            "forked": self.forked})
            return True
        self.waiting.append((client, request))
        return True

    def watch(self) -> None:
        """Reap exited kernels; kill a claimed kernel whose step process is gone."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            kernel = self.kernels.get(pid)
            if kernel is not None:
                if kernel.claimer is None:
                    self.discard(kernel)
                else:
                    self.kernels.pop(pid, None)
                (self.runtime_dir / f"kernel-{pid}.json").unlink(missing_ok=True)
        for kernel in list(self.kernels.values()):
            if kernel.claimer is not None and not alive(kernel.claimer):
                self.end(kernel.pid)
                self.kernels.pop(kernel.pid, None)

    def stop(self) -> None:
        for client, _ in self.waiting:
            client.close()
        for kernel in list(self.kernels.values()):
            kill(kernel.pid)
        for kernel in list(self.kernels.values()):
            self.end(kernel.pid)
        self.listener.close()


def serve(listener: socket.socket, runtime_dir: str, budget: int, warm: int,
          recon_job=None, render_listener: socket.socket | None = None) -> None:
    """The kernel server's main loop (a forkserver child of the run worker): start the run's
    HTML renderer (llm_assets.runtime.html_render), build the run's definitions once
    (inherited by every kernel), then keep warm kernels until the run worker says stop or
    exits."""
    import multiprocessing

    if threading.active_count() != 1:  # forking is only safe without other threads
        listener.close()
        return
    renderer = _start_renderer(render_listener, listener) if render_listener else None
    if recon_job is not None:
        recon_job.get_definition()  # cached per process: the kernels' context starts from it
    # what is loaded now lives as long as any kernel: the garbage collector of a kernel need
    # not scan it (IPython's reset at shutdown collects the whole heap: 0.3-1 s with Dagster)
    gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    server = _Server(listener=listener, runtime_dir=Path(runtime_dir), budget=budget,
                     warm=max(warm, 0), sys_path=warm_kernel.fresh_sys_path())
    parent = multiprocessing.parent_process()
    server.selector.register(listener, selectors.EVENT_READ, ("listener", None))
    server.selector.register(wake_r, selectors.EVENT_READ, ("signal", None))
    if parent is not None:
        server.selector.register(parent.sentinel, selectors.EVENT_READ, ("parent", None))
    server.top_up()
    running = True
    try:
        while running:
            for key, _ in server.selector.select(WATCH_INTERVAL):
                kind, pid = key.data
                if kind == "listener":
                    client, _ = listener.accept()
                    running = server.on_client(client) and running
                elif kind == "kernel" and pid in server.kernels:
                    server.on_kernel_message(server.kernels[pid])
                elif kind == "signal":
                    os.read(wake_r, 4096)
                elif kind == "parent":
                    running = False
            server.watch()
            server.serve_waiting()
            server.top_up()
    finally:
        server.stop()
        if renderer is not None:
            os.close(renderer[1])  # the renderer reads EOF and exits
            reap(renderer[0])


def _start_renderer(render_listener: socket.socket, listener: socket.socket) -> tuple[int, int]:
    """Fork the run's HTML renderer: (its pid, the pipe end whose closing stops it)."""
    from llm_assets.runtime import html_render

    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(alive_w)
            listener.close()
            html_render.serve(render_listener, alive_r)
            code = 0
        finally:
            os._exit(code)
    os.close(alive_r)
    render_listener.close()
    return pid, alive_w
