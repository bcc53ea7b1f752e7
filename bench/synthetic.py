"""Synthetic control tables for the scale benchmarks.

`n` processes, 100 per group, 5 groups per stream (500 processes, one job per stream), groups
in ascending priority inside their stream, every process depending on 2 earlier processes of
its group on average (deterministic, seeded).  All processes run the empty notebook.
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


def synthetic_snapshot(n: int, seed: int = 1, notebook: str = NOTEBOOK) -> ControlSnapshot:
    rng = random.Random(seed)
    streams, groups, processes, deps = [], [], [], []
    n_groups = max(1, (n + PER_GROUP - 1) // PER_GROUP)
    for g in range(n_groups):
        s = g // GROUPS_PER_STREAM
        if g % GROUPS_PER_STREAM == 0:
            streams.append(Stream(f"s{s:04d}"))
        group = f"s{s:04d}_g{g % GROUPS_PER_STREAM}"
        groups.append(ProcessGroup(group, f"s{s:04d}", prir=g % GROUPS_PER_STREAM + 1))
        members = []
        for i in range(min(PER_GROUP, n - g * PER_GROUP)):
            name = f"p{g * PER_GROUP + i:06d}"
            processes.append(Process(name, group, notebook))
            for up in rng.sample(members, k=min(2, len(members))):
                deps.append(Dependency(name, up))
            members.append(name)
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
