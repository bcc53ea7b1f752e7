"""Write a process notebook from cell sources (used to author the notebooks under notebooks/).

Usage in code: make_notebook(path, [("code", src, tags), ...]).  Cells tagged `parameters`
hold the defaults used when the notebook is run by hand.
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def make_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source, tags in cells:
        cell = (nbformat.v4.new_markdown_cell(source) if kind == "md"
                else nbformat.v4.new_code_cell(source))
        cell.metadata["tags"] = list(tags)
        cell["id"] = f"cell-{len(nb.cells)}"
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
