"""One Dagster asset per active process: key = process name, group = process group.

Explicit dependency rows become inputs (the upstream's result is loaded through the IO
manager and handed to the notebook under the upstream's process name); priority-tier order
becomes non-data `deps`.  Every process stays its own step: own retries, events and log row.
"""

from __future__ import annotations

import dagster as dg

from llm_assets.control.graph import ProcessGraph
from llm_assets.control.models import ControlSnapshot, Process

LLM_POOL = "llm"
PROCESS_TAG = "llm_assets/process"
STREAM_TAG = "llm_assets/stream"


def _metadata(snapshot: ControlSnapshot, process: Process, graph: ProcessGraph) -> dict:
    group = snapshot.group_by_name[process.prcs_grp]
    meta = {
        "stream": group.strem_nm,
        "process_group": group.prcs_grp,
        "group_priority": group.prir,
        "process_priority": process.prir,
        "notebook": dg.MetadataValue.path(f"notebooks/{process.nb_path_nm}"),
        "control_row": f"cntl_af.cntl_cfg_prcs[prcs_nm={process.prcs_nm}]",
    }
    optional = {
        "sys_file": process.sys_file,
        "embed_model": process.embed_model,
        "gen_model": process.gen_model,
        "collection": process.collection,
        "nb_parm": process.nb_parm,
    }
    meta.update({k: v for k, v in optional.items() if v})
    if graph.order_deps.get(process.prcs_nm):
        meta["after_priority_tier"] = ", ".join(graph.order_deps[process.prcs_nm])
    return meta


def process_asset(
    snapshot: ControlSnapshot,
    process: Process,
    graph: ProcessGraph,
    compute,
    retry_policy: dg.RetryPolicy | None = None,
) -> dg.AssetsDefinition:
    """Build the asset of one process; `compute(context, process, inputs)` runs the notebook."""
    group = snapshot.group_by_name[process.prcs_grp]
    name = process.prcs_nm
    ins = {up: dg.AssetIn(key=up) for up in graph.data_deps.get(name, ())}
    uses_models = bool(process.gen_model or process.embed_model)
    stream = snapshot.stream_by_name[group.strem_nm]

    @dg.asset(
        name=name,
        group_name=group.prcs_grp,
        ins=ins,
        deps=list(graph.order_deps.get(name, ())),
        description=f"Process {name} of stream {stream.strem_nm}: notebook "
                    f"notebooks/{process.nb_path_nm}",
        metadata=_metadata(snapshot, process, graph),
        kinds={"ipynb"},
        tags={"stream": stream.strem_nm},
        op_tags={
            # lower prir runs first; Dagster starts higher priorities first
            "dagster/priority": str(-(group.prir * 1000 + process.prir)),
            PROCESS_TAG: name,
            STREAM_TAG: stream.strem_nm,
        },
        pool=LLM_POOL if uses_models else None,
        retry_policy=retry_policy,
        required_resource_keys={"datalake"},
    )
    def _process(context, **inputs):
        return compute(context, process, inputs)

    return _process
