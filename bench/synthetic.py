"""Synthetic control tables for the scale benchmarks, in two shapes.

Both: `n` processes, 100 per group, 5 groups per stream (500 processes, one job per stream),
groups in priority 1..5 inside their stream, deterministic (seeded).  All processes run the
empty notebook.

- `narrow`: every process depends on up to 2 earlier processes of its own group, so each
  group (a tier) is a chain-like graph with few sources and sinks;
- `wide`: every process depends on up to 2 processes of earlier groups of its stream and on
  none of its own group, so in each tier of 100 every process is both a source and a sink
  (the shape of issue 14: direct tier edges were 100 x 100 per tier boundary).
"""

from __future__ import annotations

import random

from llm_assets.core.models import (
    ControlSnapshot,
    Dependency,
    Process,
    ProcessGroup,
    Stream,
)

PER_GROUP = 100
GROUPS_PER_STREAM = 5
NOTEBOOK = "bench/empty.ipynb"
SHAPES = ("narrow", "wide")


def synthetic_snapshot(n: int, seed: int = 1, notebook: str = NOTEBOOK,
                       shape: str = "narrow") -> ControlSnapshot:
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")
    rng = random.Random(seed)
    streams, groups, processes, deps = [], [], [], []
    n_groups = max(1, (n + PER_GROUP - 1) // PER_GROUP)
    for g in range(n_groups):
        s = g // GROUPS_PER_STREAM
        if g % GROUPS_PER_STREAM == 0:
            streams.append(Stream(f"s{s:04d}"))
        group = f"s{s:04d}_g{g % GROUPS_PER_STREAM}"
        groups.append(ProcessGroup(group, f"s{s:04d}", prir=g % GROUPS_PER_STREAM + 1))
        if g % GROUPS_PER_STREAM == 0:
            earlier: list[str] = []  # processes of the stream's earlier groups (wide shape)
        members = []
        for i in range(min(PER_GROUP, n - g * PER_GROUP)):
            name = f"p{g * PER_GROUP + i:06d}"
            processes.append(Process(name, group, notebook))
            pool = members if shape == "narrow" else earlier
            for up in rng.sample(pool, k=min(2, len(pool))):
                deps.append(Dependency(name, up))
            members.append(name)
        earlier.extend(members)
    return ControlSnapshot(streams=tuple(streams), groups=tuple(groups),
                           processes=tuple(processes), dependencies=tuple(deps))


def insert_sql(snapshot: ControlSnapshot) -> list[tuple[str, list[tuple]]]:
    """(statement, rows) pairs to load the snapshot with psycopg2.extras.execute_values."""
    return [
        ("INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES %s",
         [(s.strem_nm,) for s in snapshot.streams]),
        ("INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES %s",
         [(g.prcs_grp, g.strem_nm, g.prir) for g in snapshot.groups]),
        ("INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, prir, nb_path_nm) VALUES %s",
         [(p.prcs_nm, p.prcs_grp, p.prir, p.nb_path_nm) for p in snapshot.processes]),
        ("INSERT INTO cntl_af.cntl_cfg_prcs_depn (prcs_nm, dpnd_prcs_nm) VALUES %s",
         [(d.prcs_nm, d.dpnd_prcs_nm) for d in snapshot.dependencies]),
    ]
