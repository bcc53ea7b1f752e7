"""One Dagster asset per active process: key = process name, group = process group.

Explicit dependency rows become inputs (the upstream's result is loaded through the IO
manager and handed to the notebook under the upstream's process name); priority-tier order
becomes `Nothing` inputs (order only): from the sinks of the previous tier, or from the tier's
gate between two wide tiers (llm_assets.defs.barriers).  Every process stays its own step: own
retries, events and log row.

The assets are built directly as `OpDefinition` + `AssetsDefinition` (what `@dg.asset` builds
underneath) with one shared compute function: no per-process closure or signature
inspection, which is most of the decorator's cost at 10,000 processes.
"""

from __future__ import annotations

import dagster as dg

from llm_assets.core.graph import ProcessGraph
from llm_assets.core.models import ControlSnapshot, Process
from llm_assets.core.names import LLM_POOL, PRIORITY_TAG, PROCESS_TAG, RESULT, STREAM_TAG
from llm_assets.core.notebooks import NotebookInfo, is_script


def _metadata(snapshot: ControlSnapshot, process: Process, graph: ProcessGraph) -> dict:
    group = snapshot.group_by_name[process.prcs_grp]
    meta = {
        "stream": group.strem_nm,
        "process_group": group.prcs_grp,
        "group_priority": group.prir,
        "process_priority": process.prir,
        _kind_word(process): dg.MetadataValue.path(f"notebooks/{process.nb_path_nm}"),
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


def _kind_word(process: Process) -> str:
    return "script" if is_script(process.nb_path_nm) else "notebook"


def resource_keys(process: Process) -> set[str]:
    """The resources a process's notebook gets (`context.resources.<key>`): the data lake
    always; the LLM, embeddings and vector store when its control row names a model or a
    collection.  Resources are initialized only where needed."""
    keys = {"datalake"}
    if process.gen_model:
        keys.add("llm")
    if process.embed_model:
        keys.add("embeddings")
    if process.collection:
        keys.add("vectorstore")
    return keys


def check_output(check: str) -> str:
    """The op output that carries the result of a declared check."""
    return f"check_{check}"


def code_version(snapshot: ControlSnapshot, process: Process, notebook: NotebookInfo | None
                 ) -> str:
    """What defines the process's result: its notebook or script file, its control row, its
    sys-file row (upt_dt excluded: touching a row without changing it changes nothing)."""
    import hashlib
    import json
    from dataclasses import asdict

    row = {k: v for k, v in asdict(process).items() if k != "upt_dt"}
    sys_file = snapshot.sys_file_by_name.get(process.sys_file) if process.sys_file else None
    sys_row = {k: v for k, v in asdict(sys_file).items() if k != "upt_dt"} if sys_file else None
    text = json.dumps([notebook.digest if notebook else None, row, sys_row], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def process_asset(
    snapshot: ControlSnapshot,
    process: Process,
    graph: ProcessGraph,
    compute,
    retry_policy: dg.RetryPolicy | None = None,
    notebook: NotebookInfo | None = None,
    placement: dict[str, str] | None = None,
) -> dg.AssetsDefinition:
    """The asset of one process; `compute(context, inputs)` runs its notebook (the process is
    found from the op name, so one compute function serves every process).  `notebook`: the
    digest and declared checks of its notebook file; `placement`: the op tags that choose
    where its step runs (llm_assets.defs.queues)."""
    group = snapshot.group_by_name[process.prcs_grp]
    stream = group.strem_nm
    name = process.prcs_nm
    data_ups = graph.data_deps.get(name, ())
    order_ups = graph.order_deps.get(name, ())
    ins = {up: dg.In() for up in data_ups}
    ins.update({up: dg.In(dagster_type=dg.Nothing) for up in order_ups})
    uses_models = bool(process.gen_model or process.embed_model)
    checks = {
        check_output(c.name): dg.AssetCheckSpec(c.name, asset=name, description=c.description
                                                or f"declared by notebooks/{process.nb_path_nm}")
        for c in (notebook.checks if notebook else ())
    }
    op = dg.OpDefinition(
        compute_fn=compute,
        name=name,
        ins=ins,
        outs={RESULT: dg.Out(io_manager_key="io_manager"),
              **{output: dg.Out(dagster_type=None) for output in checks}},
        required_resource_keys=resource_keys(process),
        tags={
            # lower prir runs first; Dagster starts higher priorities first
            PRIORITY_TAG: str(-(group.prir * 1000 + process.prir)),
            PROCESS_TAG: name,
            STREAM_TAG: stream,
            **(placement or {}),
        },
        retry_policy=retry_policy,
        pool=LLM_POOL if uses_models else None,
    )
    spec = dg.AssetSpec(
        key=name,
        deps=[*data_ups, *order_ups],
        group_name=group.prcs_grp,
        description=f"Process {name} of stream {stream}: {_kind_word(process)} "
                    f"notebooks/{process.nb_path_nm}",
        metadata=_metadata(snapshot, process, graph),
        kinds={"python" if is_script(process.nb_path_nm) else "ipynb"},
        tags={"stream": stream},
        code_version=code_version(snapshot, process, notebook),
    )
    return dg.AssetsDefinition(
        node_def=op,
        keys_by_input_name={up: dg.AssetKey(up) for up in ins},
        keys_by_output_name={RESULT: dg.AssetKey(name)},
        specs=[spec],
        check_specs_by_output_name=checks or None,
    )
