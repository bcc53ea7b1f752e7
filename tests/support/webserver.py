"""A real Dagster UI for tests: `dagster-webserver` (or `dagster dev`, which adds the daemon)
as a subprocess on a free localhost port, with the project's workspace.yaml.

The process runs in its own process group; on exit the whole group (webserver, daemon, code
servers) is terminated, then killed if it lingers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.project import BIN, ROOT

LOCATION = "llm_assets"

LOCATION_STATUS = """
query LocationStatus($name: String!) {
  workspaceLocationEntryOrError(name: $name) {
    __typename
    ... on WorkspaceLocationEntry {
      loadStatus
      locationOrLoadError { __typename ... on PythonError { message } }
    }
    ... on PythonError { message }
  }
}
"""

ASSET_GRAPH = """
{
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
    jobNames
    isMaterializable
  }
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Webserver:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen
    log: Path

    @property
    def graphql_url(self) -> str:
        return self.url + "/graphql"

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 120) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.graphql_url, data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]

    def asset_graph(self) -> dict[str, dict]:
        """The asset nodes the UI shows, by asset key ("a/b")."""
        nodes = self.graphql(ASSET_GRAPH)["assetNodes"]
        return {"/".join(n["assetKey"]["path"]): n for n in nodes}

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def assert_alive(self) -> None:
        assert self.proc.poll() is None, (
            f"the webserver exited with {self.proc.returncode}:\n{self.log_tail()}")


def _wait_ready(server: Webserver, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        server.assert_alive()
        try:
            with urllib.request.urlopen(server.url + "/server_info", timeout=5):
                pass
            entry = server.graphql(LOCATION_STATUS, {"name": LOCATION}, timeout=10)
            entry = entry["workspaceLocationEntryOrError"]
            loaded = entry.get("locationOrLoadError") or {}
            if entry.get("loadStatus") == "LOADED":
                assert loaded.get("__typename") == "RepositoryLocation", (
                    f"code location {LOCATION} failed to load: {loaded.get('message')}\n"
                    f"{server.log_tail()}")
                return
            last = f"location {entry.get('loadStatus') or entry}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            last = str(err)
        time.sleep(0.5)
    raise AssertionError(f"webserver at {server.url} not ready after {timeout}s ({last}):\n"
                         f"{server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group (dagster shuts its children down), SIGKILL what remains."""
    import psutil

    try:
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        family = [proc.pid]
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # the group is already gone
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    _, alive = psutil.wait_procs(_processes(family), timeout=15)
    for leftover in alive:
        leftover.kill()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing left in the group: the normal case


def _processes(pids: list[int]) -> list:
    import psutil

    found = []
    for pid in pids:
        try:
            found.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    return found


@contextmanager
def dagster_ui(env: dict, *, daemon: bool = False, timeout: float = 180) -> Iterator[Webserver]:
    """Serve the project's workspace.yaml with `dagster-webserver` (daemon=False) or
    `dagster dev` (daemon=True: schedules, sensors and the run queue run too).

    LLM_ASSETS_WEBSERVER_URL is set to this webserver, so the reload sensor talks to it."""
    port = free_port()
    env = {**env, "LLM_ASSETS_WEBSERVER_URL": f"http://127.0.0.1:{port}/graphql"}
    workspace = str(ROOT / "workspace.yaml")
    if daemon:
        cmd = [str(BIN / "dagster"), "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)]
    else:
        cmd = [str(BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1",
               "-p", str(port)]
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = home / ("dagster-dev.log" if daemon else "webserver.log")
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=env["LLM_ASSETS_HOME"], stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Webserver(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_ready(server, timeout)
        yield server
    finally:
        _stop(proc)
