"""The HTML rendering of an executed notebook (nbconvert's lab template), warmed up while the
notebook runs.

A step process renders one notebook.  Its first rendering compiles nbconvert's templates and
the regular expressions of its highlighter and HTML post-processing: about three quarters of
the cost.  `warm_up()` does that in a background thread while the kernel runs the notebook
(the step process only waits on the kernel then), so `render()` after the run pays only the
rest.
"""

from __future__ import annotations

import threading

_STATE: dict = {"thread": None, "exporter": None}


def _exporter():
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    cell = nbformat.v4.new_code_cell("x = {'a': [1, 2.0, None, 'b']}  # warm-up\nx")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "{'a': 1}"},
                                           execution_count=1)]
    exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    return exporter


def _compile() -> None:
    _STATE["exporter"] = _exporter()


def warm_up() -> None:
    """Start compiling the renderer in the background (once per process)."""
    if _STATE["thread"] is None and _STATE["exporter"] is None:
        _STATE["thread"] = threading.Thread(target=_compile, name="llm-assets-html-warm-up",
                                           daemon=True)
        _STATE["thread"].start()


def render(ipynb: bytes) -> bytes:
    """The executed notebook as a standalone HTML page."""
    import nbformat

    thread = _STATE["thread"]
    if thread is not None:
        thread.join()
        _STATE["thread"] = None
    exporter = _STATE["exporter"] or _exporter()
    _STATE["exporter"] = exporter
    body, _ = exporter.from_notebook_node(nbformat.reads(ipynb.decode(), as_version=4))
    return body.encode()
