"""The HTML rendering of an executed notebook (nbconvert's lab template).

A first rendering in a process compiles nbconvert's templates and the regular expressions of
its highlighter, markdown renderer and HTML sanitizer: most of the cost (about 0.3-0.5 s of
CPU against 0.05 s for the rendering itself).  So:

- the run's kernel server (llm_assets.runtime.kernel_server) starts a renderer that compiles
  once per run and renders every notebook step's HTML (`serve`, over a Unix socket next to
  the server's);
- without it (no kernel server, or it does not answer), the step compiles in a background
  thread while its kernel runs the notebook (`warm_up`), and renders itself.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
from typing import Any

from llm_assets.runtime.kernel_ipc import RENDER, socket_path

RENDER_WAIT = 60.0  # s a step waits for the run's renderer before rendering itself

_STATE: dict[str, Any] = {"thread": None, "exporter": None}


def _exporter():
    """An exporter that has rendered a notebook with each kind of cell and output (markdown,
    code, stream, rich and HTML results, an error): its templates, highlighter, markdown
    renderer and HTML sanitizer are compiled."""
    import nbformat
    from nbconvert import HTMLExporter

    v4 = nbformat.v4
    code = v4.new_code_cell("x = {'a': [1, 2.0, None, 'b']}  # warm-up\nprint(x)\nx")
    code.outputs = [
        v4.new_output("stream", name="stdout", text="{'a': [1, 2.0, None, 'b']}\n"),
        v4.new_output("execute_result", {"text/plain": "{'a': 1}",
                                         "text/html": "<table><tr><td>1</td></tr></table>"},
                      execution_count=1),
        v4.new_output("error", ename="ValueError", evalue="warm-up",
                      traceback=["\x1b[0;31mValueError\x1b[0m: warm-up"]),
    ]
    notebook = v4.new_notebook(cells=[v4.new_markdown_cell("# Warm-up\n*text* `code`"), code])
    exporter = HTMLExporter()
    exporter.from_notebook_node(notebook)
    return exporter


def _render(exporter, ipynb: bytes) -> bytes:
    import nbformat

    body, _ = exporter.from_notebook_node(nbformat.reads(ipynb.decode(), as_version=4))
    return body.encode()


# ---- in the step process -----------------------------------------------------------------

def _compile() -> None:
    _STATE["exporter"] = _exporter()


def warm_up(run_id: str | None = None) -> None:
    """Start compiling the renderer in the background (once per process), unless the run's
    renderer will do the rendering."""
    if run_id is not None and (path := socket_path(RENDER, run_id)) is not None and path.exists():
        return
    if _STATE["thread"] is None and _STATE["exporter"] is None:
        thread = threading.Thread(target=_compile, name="llm-assets-html-warm-up", daemon=True)
        _STATE["thread"] = thread
        thread.start()


def render(ipynb: bytes, run_id: str | None = None) -> bytes:
    """The executed notebook as a standalone HTML page: by the run's renderer when there is
    one, else here."""
    if run_id is not None:
        body = _render_remotely(run_id, ipynb)
        if body is not None:
            return body
    thread = _STATE["thread"]
    if thread is not None:
        thread.join()
        _STATE["thread"] = None
    _STATE["exporter"] = _STATE["exporter"] or _exporter()
    return _render(_STATE["exporter"], ipynb)


def _render_remotely(run_id: str, ipynb: bytes) -> bytes | None:
    path = socket_path(RENDER, run_id)
    if path is None or not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(RENDER_WAIT)
            sock.connect(str(path))
            _send(sock, {"size": len(ipynb)}, ipynb)
            header, body = _receive(sock)
    except (OSError, ValueError):
        return None
    return body if header.get("ok") else None


# ---- the run's renderer (a child of the kernel server) ------------------------------------

def serve(listener: socket.socket, parent: int) -> None:
    """Compile once, then render each request until the kernel server (`parent`: a file
    descriptor that reads EOF when it is gone) stops.  A notebook it cannot render gets an
    error answer: the step then renders it itself and reports what went wrong."""
    exporter = _exporter()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(parent, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj == parent:
                return
            client, _ = listener.accept()
            with client:
                client.settimeout(RENDER_WAIT)
                _answer(client, exporter)


def _answer(client: socket.socket, exporter) -> None:
    try:
        _, ipynb = _receive(client)
    except (OSError, ValueError):  # the step gave up: it renders the notebook itself
        return
    try:
        header: dict[str, Any] = {"ok": True}
        body = _render(exporter, ipynb)
    except Exception as err:  # noqa: BLE001 - the step renders it itself and reports the error
        header, body = {"ok": False, "error": f"{type(err).__name__}: {err}"}, b""
    try:
        _send(client, header, body)
    except OSError:
        return


def _send(sock: socket.socket, header: dict, payload: bytes) -> None:
    sock.sendall(json.dumps(dict(header, size=len(payload))).encode() + b"\n" + payload)


def _receive(sock: socket.socket) -> tuple[dict, bytes]:
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("connection closed before the header")
        data += chunk
    line, payload = data.split(b"\n", 1)
    header = json.loads(line)
    while len(payload) < header["size"]:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ValueError("connection closed before the payload")
        payload += chunk
    return header, payload
