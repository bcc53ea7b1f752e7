"""The hand-written comparison of the load benchmarks: the synthetic processes as a user would
write them by hand, one `@dg.asset` per process with its data dependencies as inputs, no
priority-tier edges, and one job per stream selecting its groups (issue 14's comparison).

    BENCH_PROCESSES=10000 BENCH_SHAPE=wide dagster definitions validate -f bench/handwritten.py

(run from the repository root with it on PYTHONPATH).
"""

from __future__ import annotations

import os

import dagster as dg

from bench.synthetic import synthetic_snapshot
from llm_assets.core.models import ControlSnapshot


def handwritten_definitions(snap: ControlSnapshot) -> dg.Definitions:
    ups: dict[str, list[str]] = {}
    for dep in snap.dependencies:
        ups.setdefault(dep.prcs_nm, []).append(dep.dpnd_prcs_nm)
    assets = []
    for p in snap.processes:
        group = snap.group_by_name[p.prcs_grp]

        @dg.asset(name=p.prcs_nm, group_name=group.prcs_grp,
                  ins={u: dg.AssetIn(u) for u in ups.get(p.prcs_nm, ())}, kinds={"ipynb"},
                  metadata={"stream": group.strem_nm})
        def _asset(context, **inputs):
            return None

        assets.append(_asset)
    streams: dict[str, list[str]] = {}
    for g in snap.groups:
        streams.setdefault(g.strem_nm, []).append(g.prcs_grp)
    jobs = [dg.define_asset_job(s, selection=dg.AssetSelection.groups(*gs))
            for s, gs in streams.items()]
    return dg.Definitions(assets=assets, jobs=jobs)


@dg.definitions
def defs() -> dg.Definitions:
    return handwritten_definitions(synthetic_snapshot(int(os.environ["BENCH_PROCESSES"]),
                                                      shape=os.environ.get("BENCH_SHAPE",
                                                                           "narrow")))
