"""Where a process's `nb_path_nm` points: the one check used by validation and by the runner.

A path is relative to the notebooks directory, stays inside it, ends in `.ipynb` (a
notebook) or `.py` (a script process, run without a kernel) and names an existing file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".ipynb", ".py")


@dataclass(frozen=True)
class PathProblem:
    message: str
    fix: str


def is_script(nb_path: str) -> bool:
    return nb_path.endswith(".py")


def notebook_problem(nb_path: str | None, root: Path) -> PathProblem | None:
    """What is wrong with `nb_path` under `root` (None: it names an existing notebook)."""
    if not nb_path or not nb_path.strip():
        return PathProblem("nb_path_nm is empty",
                           "set it to a notebook path relative to notebooks/")
    if Path(nb_path).is_absolute():
        return PathProblem(f"nb_path_nm {nb_path!r} is absolute",
                           "write it relative to notebooks/")
    base = root.resolve()
    resolved = (base / nb_path).resolve()
    if not resolved.is_relative_to(base):
        return PathProblem(f"nb_path_nm {nb_path!r} escapes notebooks/",
                           "keep notebooks inside the project's notebooks/ directory")
    if resolved.suffix not in SUFFIXES:
        return PathProblem(f"nb_path_nm {nb_path!r} is neither a .ipynb notebook nor a .py script",
                           "point it at a .ipynb notebook or a .py script")
    if not resolved.is_file():
        return PathProblem(f"notebook {nb_path!r} does not exist under {base}",
                           "create the notebook or correct nb_path_nm")
    return None


def resolve(nb_path: str, root: Path) -> Path:
    """The notebook file (call `notebook_problem` first: this does not check)."""
    return (root.resolve() / nb_path).resolve()


@dataclass(frozen=True)
class CheckDeclaration:
    """An asset check a notebook or script declares and reports with `nb.check(name, ...)`."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class NotebookInfo:
    """What the definitions need to know of a process's notebook or script file."""

    digest: str                                 # sha256 of the file (its code version)
    checks: tuple[CheckDeclaration, ...] = ()   # asset checks it declares


def _declared_checks(raw) -> tuple[CheckDeclaration, ...]:
    out = []
    for item in raw or ():
        if isinstance(item, str):
            out.append(CheckDeclaration(item))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            out.append(CheckDeclaration(item["name"], str(item.get("description", ""))))
    return tuple(out)


def describe(path: Path) -> NotebookInfo:
    """Digest and declared checks of a notebook (`metadata.llm_assets.checks` in the .ipynb)
    or a script (a top-level `CHECKS = [...]` literal in the .py)."""
    import ast
    import hashlib
    import json

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    raw = None
    try:
        if path.suffix == ".py":
            for node in ast.parse(data).body:
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "CHECKS" for t in node.targets):
                    raw = ast.literal_eval(node.value)
        else:
            raw = json.loads(data).get("metadata", {}).get("llm_assets", {}).get("checks")
    except (SyntaxError, ValueError, AttributeError):
        raw = None  # not parseable: the run reports the error; no checks declared
    return NotebookInfo(digest, _declared_checks(raw))
