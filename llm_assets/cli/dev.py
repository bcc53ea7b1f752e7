"""`llm-assets dev` (what `make dev` runs): `dagster dev` for the local profile, stopped
cleanly on Ctrl-C and on SIGTERM.

`dagster dev` runs in a process group of its own, with its code servers, webserver, daemon
and run workers.  On SIGINT, SIGTERM or SIGHUP this wrapper asks it to shut down (SIGINT, its
own graceful path), waits up to `--grace` seconds for the whole group to exit, then sends
SIGTERM and finally SIGKILL to whatever is left of the group.  A second signal skips the
wait.  So nothing `dagster dev` started outlives the command, whoever sent the signal: the
terminal (to the foreground group), `kill` on the make process, a supervisor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from llm_assets.store.local_server import pid_alive

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
TERM_WAIT = 5.0  # seconds between SIGTERM and SIGKILL of what is left


def descendants(*roots: int) -> set[int]:
    """Every process below `roots` (Linux /proc), also those that left their process group:
    notebook kernels start in sessions of their own."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone meanwhile
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # the group is gone: nothing to stop


class Supervisor:
    """Runs `command` in a new process group and stops it, with everything below it."""

    def __init__(self, command: list[str], grace: float):
        self.command = command
        self.grace = grace
        self.proc: subprocess.Popen | None = None
        self.received: list[int] = []
        self.tree: set[int] = set()

    def _on_signal(self, signum, _frame) -> None:
        self.received.append(signum)

    def _left(self) -> bool:
        """Whether anything of the command is still running (collecting new descendants)."""
        assert self.proc is not None
        self.proc.poll()  # reap our own child, so it does not linger as a zombie
        self.tree |= descendants(*self.tree)
        return any(pid_alive(pid) for pid in self.tree)

    def _signal_all(self, sig: int) -> None:
        assert self.proc is not None
        signal_group(self.proc.pid, sig)
        for pid in self.tree:
            if pid != self.proc.pid and pid_alive(pid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    continue

    def _wait(self, seconds: float, escalate_on_signal: bool) -> bool:
        """Wait until nothing is left (True) or `seconds` pass (False); a further signal
        ends the wait early when `escalate_on_signal`."""
        seen = len(self.received)
        deadline = time.monotonic() + seconds
        while self._left():
            if time.monotonic() > deadline or (escalate_on_signal
                                               and len(self.received) > seen):
                return False
            time.sleep(0.2)
        return True

    def stop(self) -> None:
        """Graceful shutdown, then SIGTERM, then SIGKILL to everything left."""
        assert self.proc is not None
        self.tree |= {self.proc.pid} | descendants(self.proc.pid)
        click.echo(f"llm-assets dev: stopping dagster dev (up to {self.grace:g} s)", err=True)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # dagster dev's own graceful shutdown
        if self._wait(self.grace, escalate_on_signal=True):
            return
        click.echo("llm-assets dev: processes still running, sending SIGTERM", err=True)
        self._signal_all(signal.SIGTERM)
        if self._wait(TERM_WAIT, escalate_on_signal=False):
            return
        click.echo("llm-assets dev: processes still running, sending SIGKILL", err=True)
        self._signal_all(signal.SIGKILL)
        self._wait(TERM_WAIT, escalate_on_signal=False)

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            self.proc = subprocess.Popen(self.command, start_new_session=True)
            self.tree = {self.proc.pid}
            while not self.received:
                try:
                    code = self.proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    self.tree |= descendants(self.proc.pid)
                    continue
                # dagster dev ended on its own: take down anything it left behind
                self._signal_all(signal.SIGTERM)
                if not self._wait(TERM_WAIT, escalate_on_signal=False):
                    self._signal_all(signal.SIGKILL)
                return code
            self.stop()
            return 128 + self.received[0]
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command("dev")
@click.option("--host", "-h", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", default=3000, show_default=True, type=int)
@click.option("--workspace", "-w", default="workspace.yaml", show_default=True,
              help="the Dagster workspace file")
@click.option("--grace", default=15.0, show_default=True, type=float,
              help="seconds dagster dev gets to shut down before it is terminated")
def dev_cmd(host: str, port: int, workspace: str, grace: float) -> None:
    """The Dagster UI with sensors and schedules (`dagster dev`), stopped cleanly, with all
    its processes, on Ctrl-C or SIGTERM."""
    from llm_assets.cli.run import ensure_local_env

    ensure_local_env()
    # the reload sensor talks to this webserver
    os.environ["LLM_ASSETS_WEBSERVER_URL"] = f"http://{host}:{port}/graphql"
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    command = [dagster if os.path.exists(dagster) else "dagster", "dev", "-w", workspace,
               "-h", host, "-p", str(port)]
    sys.exit(Supervisor(command, grace).run())
