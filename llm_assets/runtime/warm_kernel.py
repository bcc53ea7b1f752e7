"""A warm notebook kernel: a fork of the run's kernel server
(llm_assets.runtime.kernel_server) that has initialized an IPython kernel and waits for the
one step that claims it, then takes that step's environment and working directory, runs until
shut down and exits.  It never serves a second step."""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
from pathlib import Path

from llm_assets.runtime.kernel_ipc import read_line


def run(channel: socket.socket, runtime_dir: Path, base_env: dict,
                 sys_path: list[str]) -> None:
    """Initialize an IPython kernel, tell the server it is ready, take one claim (the step's
    environment and working directory), run until shut down, then exit without the
    interpreter's slow teardown (atexit handlers still run: history, connection file)."""
    code = 1
    try:
        os.setsid()  # its own process group, as jupyter_client starts kernels
        from ipykernel import kernelapp
        from tornado import ioloop

        connection_file = runtime_dir / f"kernel-{os.getpid()}.json"
        sys.argv = [str(Path(kernelapp.__file__).parent.parent / "ipykernel_launcher.py"),
                    "-f", str(connection_file)]
        sys.path[:] = sys_path
        app = kernelapp.IPKernelApp.instance()
        # a parent to watch, as jupyter_client gives its kernels: it exits if the server does
        app.initialize([*sys.argv[1:], f"--IPKernelApp.parent_handle={os.getppid()}"])
        connection = json.loads(connection_file.read_text())
        loop = ioloop.IOLoop.current()
        gc.freeze()

        def on_claim(fd, events):
            loop.remove_handler(fd)
            message = read_line(channel)
            if message is None:  # the server is gone: nobody will use this kernel
                os._exit(0)
            take_environment(message["env"], base_env)
            os.chdir(message["cwd"])
            channel.sendall(b'{"claimed": true}\n')
            channel.close()

        loop.add_handler(channel.fileno(), on_claim, ioloop.IOLoop.READ)
        channel.sendall(json.dumps({"connection": connection}).encode() + b"\n")
        app.start()
        code = 0
    finally:
        import atexit

        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def take_environment(env: dict, base_env: dict) -> None:
    """The step's environment, as a kernel it started would have got; what the kernel added
    to its own environment while starting (MPLBACKEND, ...) stays unless the step sets it."""
    for name in set(base_env) - set(env):
        os.environ.pop(name, None)
    os.environ.update(env)


def fresh_sys_path() -> list[str]:
    """sys.path of a kernel started by jupyter_client (`python -m ipykernel_launcher`, which
    drops the working directory; IPython then adds '')."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return json.loads(out)[1:]
