"""Priority-tier gates as Dagster assets: the ordering node between two wide tiers.

A gate (`llm_assets.core.graph.Barrier`) is a `Nothing` asset of kind `tier_gate` in the
gated tier's group: it depends on the sinks of the previous tier and the sources of its tier
depend on it, so the asset graph draws the tiers side by side with one node between them
instead of every process of one tier wired to every process of the next.

It is not a process: its op carries `llm_assets/tier_gate` and no `llm_assets/process` tag, so
the log mirror writes no cntl_cfg_log row for it; it has no notebook, no resources and no
retries.  Under the project's executor the run worker passes it without executing it
(llm_assets.compat.pass_tagged_steps): once the last upstream step has succeeded it writes the
gate's STEP_START, STEP_OUTPUT, ASSET_MATERIALIZATION (data version "passed") and
STEP_SUCCESS, so a gate costs no step process, execution plan or resources.  Under any other
executor (in-process, Celery) the op below runs and yields the same.
"""

from __future__ import annotations

import dagster as dg

from llm_assets.core.graph import Barrier
from llm_assets.core.names import BARRIER_KIND, BARRIER_TAG, PRIORITY_TAG, RESULT, STREAM_TAG


def _pass(context, inputs):
    """Nothing to do: the gate has passed once every upstream step has succeeded.  Its data
    version never changes (an order carries no data), so rerunning a tier does not mark the
    next tier's processes as having new upstream data."""
    yield dg.Output(None, output_name=RESULT, data_version=dg.DataVersion("passed"))


def _tier(tier: tuple[int, int]) -> str:
    return f"group prir {tier[0]}, process prir {tier[1]}"


def barrier_asset(barrier: Barrier) -> dg.AssetsDefinition:
    op = dg.OpDefinition(
        compute_fn=_pass,
        name=barrier.name,
        ins={sink: dg.In(dagster_type=dg.Nothing) for sink in barrier.waits_for},
        outs={RESULT: dg.Out(dagster_type=dg.Nothing)},
        tags={
            BARRIER_TAG: barrier.stream,
            STREAM_TAG: barrier.stream,
            PRIORITY_TAG: str(-(barrier.tier[0] * 1000 + barrier.tier[1]) + 1),
        },
    )
    spec = dg.AssetSpec(
        key=barrier.name,
        deps=list(barrier.waits_for),
        group_name=barrier.group,
        description=(f"Priority-tier gate of stream {barrier.stream} (not a process): the "
                     f"{len(barrier.sources)} process(es) of tier {_tier(barrier.tier)} start "
                     f"after every process of tier {_tier(barrier.after)} has finished."),
        metadata={
            "stream": barrier.stream,
            "gated_tier": f"{barrier.tier[0]}.{barrier.tier[1]}",
            "after_tier": f"{barrier.after[0]}.{barrier.after[1]}",
            "waits_for": len(barrier.waits_for),
            "gates": len(barrier.sources),
        },
        kinds={BARRIER_KIND},
        tags={"stream": barrier.stream},
    )
    return dg.AssetsDefinition(
        node_def=op,
        keys_by_input_name={sink: dg.AssetKey(sink) for sink in barrier.waits_for},
        keys_by_output_name={RESULT: dg.AssetKey(barrier.name)},
        specs=[spec],
    )
