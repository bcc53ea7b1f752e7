"""The state the definitions are built from: the control rows, what validation found, and the
notebooks they point at.  Written once per refresh (one read of the control tables, one read
of each distinct notebook file), then carried by Dagster to run workers, step processes and
kernels, which never read the tables or the notebooks directory to build their definitions.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from llm_assets.core.graph import loaded_processes
from llm_assets.core.models import ControlSnapshot
from llm_assets.core.notebooks import (
    CheckDeclaration,
    NotebookInfo,
    describe,
    notebook_problem,
    resolve,
)
from llm_assets.core.validate import ValidationResult, validate

FORMAT = 1
COMPRESSED = "zlib+base64:"


@dataclass(frozen=True)
class ControlState:
    snapshot: ControlSnapshot
    excluded: dict[str, tuple[str, ...]] = field(default_factory=dict)  # stream -> reasons
    unattributed: tuple[str, ...] = ()        # problems that excluded no stream (rows ignored)
    problem_count: int = 0
    notebooks: dict[str, NotebookInfo] = field(default_factory=dict)   # nb_path_nm -> info

    @classmethod
    def of(cls, snapshot: ControlSnapshot, result: ValidationResult,
           notebooks: dict[str, NotebookInfo]) -> ControlState:
        return cls(snapshot, dict(result.excluded),
                   tuple(str(p) for p in result.problems if not p.streams),
                   len(result.problems), notebooks)

    @classmethod
    def build(cls, snapshot: ControlSnapshot, notebooks_root: Path) -> ControlState:
        """Validate `snapshot` and describe each distinct notebook file its processes use."""
        result = validate(snapshot, notebooks_root)
        notebooks: dict[str, NotebookInfo] = {}
        for process in loaded_processes(snapshot):
            path = process.nb_path_nm
            if path not in notebooks and notebook_problem(path, notebooks_root) is None:
                notebooks[path] = describe(resolve(path, notebooks_root))
        return cls.of(snapshot, result, notebooks)

    def for_streams(self, streams: set[str] | frozenset[str]) -> ControlState:
        """Only what building `streams` needs (see ControlSnapshot.for_streams)."""
        part = self.snapshot.for_streams(set(streams))
        used = {p.nb_path_nm for p in part.processes}
        return ControlState(part, self.excluded, self.unattributed, self.problem_count,
                            {k: v for k, v in self.notebooks.items() if k in used})

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT,
            "snapshot": self.snapshot.to_dict(),
            "excluded": self.excluded,
            "unattributed": list(self.unattributed),
            "problem_count": self.problem_count,
            "notebooks": {path: {"digest": info.digest,
                                 "checks": [[c.name, c.description] for c in info.checks]}
                          for path, info in sorted(self.notebooks.items())},
        }, separators=(",", ":"), ensure_ascii=False)

    def to_text(self) -> str:
        """The state as Dagster stores and ships it: compressed JSON (about a tenth of the
        JSON; every process of a run receives it, and dagstermill writes it into each
        notebook's parameters)."""
        return COMPRESSED + base64.b64encode(zlib.compress(self.to_json().encode(), 6)).decode()

    @classmethod
    def from_text(cls, text: str) -> ControlState:
        """From `to_text()` (or plain `to_json()`)."""
        if text.startswith(COMPRESSED):
            text = zlib.decompress(base64.b64decode(text[len(COMPRESSED):])).decode()
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str) -> ControlState:
        body = json.loads(text)
        if body.get("format") != FORMAT:
            raise ValueError(f"control state format {body.get('format')!r} is not {FORMAT}: "
                             "refresh it (`dg utils refresh-defs-state` or reload the location)")
        return cls(
            snapshot=ControlSnapshot.from_dict(body["snapshot"]),
            excluded={k: tuple(v) for k, v in body["excluded"].items()},
            unattributed=tuple(body["unattributed"]),
            problem_count=int(body["problem_count"]),
            notebooks={path: NotebookInfo(item["digest"],
                                          tuple(CheckDeclaration(*c) for c in item["checks"]))
                       for path, item in body["notebooks"].items()},
        )
