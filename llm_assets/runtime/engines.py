"""The two notebook engines: how a prepared notebook is executed in a kernel.

- `dagstermill` (default): the kernel rebuilds the Dagster context of the step, so the notebook
  gets `context` (resources, logging, run id) and `dagstermill.yield_event`;
- `papermill`: the kernel gets only its parameters and upstream values; resources come from
  the profile, as in a hand run (no context to rebuild: faster).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import dagster as dg

from llm_assets.core.models import Process
from llm_assets.core.names import SCOPE_PROCESSES_ENV
from llm_assets.core.params import notebook_variables
from llm_assets.core.scope import scoped_env
from llm_assets.runtime import html_render
from llm_assets.runtime.kernels import kernel_manager_class


def _injected_source(params: dict, out_dir: Path, inputs_file: Path | None) -> str:
    """Our parameter cell: `params` (the mapping), then every papermill-convention variable
    as a literal assignment (readable in the stored notebook, as papermill writes them); a
    NULL keeps the default the notebook's `parameters` cell set.  With `inputs_file` (the
    papermill engine) it also loads the upstream values, which dagstermill injects itself."""
    bound = dict(params, _out_dir=str(out_dir))
    lines = [
        "# llm_assets: injected parameters (after the notebook's `parameters` cell)",
        "import json as __la_json",
        "from llm_assets import nb as __la_nb",
        f"params = __la_nb.bind(__la_json.loads({json.dumps(bound, default=str)!r}))",
    ]
    for name, value in notebook_variables(params).items():
        lines.append(f"{name} = globals().get({name!r})" if value is None
                     else f"{name} = {value!r}")
    if inputs_file is not None:
        lines += ["import pickle as __la_pickle",
                  f"with open({str(inputs_file)!r}, 'rb') as __la_file:",
                  "    globals().update(__la_pickle.load(__la_file))"]
    return "\n".join(lines) + "\n"


def prepare_notebook(source: Path, params: dict, out_dir: Path, target: Path,
                     inputs_file: Path | None = None, *, engine: str = "dagstermill") -> None:
    """Copy the notebook with our parameter cell right after its `parameters` cell, which runs
    as written (its values are the defaults), as with papermill.  dagstermill replaces the
    first cell tagged `parameters` with its context cell (`context`, upstream values): for
    it, the notebook's cell is retagged `parameters-defaults` and an empty `parameters` cell
    placed after it, so the order is defaults, context and upstream values, our cell."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    # a notebook saved from an earlier papermill run (the original framework's Log_output/)
    # holds that run's injected cell: drop it, as papermill does when it parameterizes
    nb.cells = [c for c in nb.cells
                if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_code_cell(_injected_source(params, out_dir, inputs_file))
    cell.metadata["tags"] = ["llm-assets-parameters"]
    index = next((i for i, c in enumerate(nb.cells)
                  if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    nb.cells.insert(index + 1, cell)
    if engine == "dagstermill" and index >= 0:
        tags = nb.cells[index].metadata["tags"]
        tags[tags.index("parameters")] = "parameters-defaults"
        placeholder = nbformat.v4.new_code_cell("# dagstermill's context cell goes here")
        placeholder.metadata["tags"] = ["parameters"]
        nb.cells.insert(index + 1, placeholder)
    nbformat.write(nb, target)


def run_with_dagstermill(context, process: Process, prepared: Path, work: Path,
                          inputs: dict) -> Path:
    """The dagstermill engine: the kernel rebuilds the Dagster context of the step (only this
    process, plus the run's selection or step list, which its execution plan names).  The
    kernel is a pre-started one of the run when there is one (llm_assets.runtime.kernels)."""
    from llm_assets.runtime.dagstermill_exec import execute_notebook

    step_context = (context.op_execution_context if hasattr(context, "op_execution_context")
                    else context).get_step_execution_context()
    selection = {k.to_user_string() for k in (context.run.asset_selection or ())}
    selection |= set(context.run.step_keys_to_execute or ())
    manager = _kernels(context)
    try:
        with scoped_env(SCOPE_PROCESSES_ENV, {process.prcs_nm} | selection):
            return execute_notebook(step_context, prepared, work, inputs,
                                    kernel_manager_class=manager)
    finally:
        _log_kernel(context, manager)


def run_with_papermill(prepared: Path, work: Path, context) -> Path:
    """The papermill engine: the notebook runs in a kernel that gets only its parameters and
    upstream values (no Dagster context to rebuild), like the original framework's runs."""
    import papermill

    executed = work / f"{prepared.stem}-out.ipynb"
    manager = _kernels(context)
    try:
        papermill.execute_notebook(str(prepared), str(executed), kernel_name="python3",
                                   progress_bar=False, log_output=False,
                                   kernel_manager_class=manager)
    finally:
        _log_kernel(context, manager)
    return executed


def _kernels(context):
    """The step's kernel manager: a pre-started kernel of the run when there is one; the
    HTML renderer is prepared while the kernel runs."""
    run_id = context.run.run_id
    return kernel_manager_class(run_id, lambda: html_render.warm_up(run_id))


def _log_kernel(context, manager) -> None:
    for claimed in manager.claims:
        context.log.debug(f"notebook kernel: pre-started kernel pid {claimed['pid']} (ready "
                          f"{claimed['warm_s']:.2f} s before this step claimed it)")


def _storage_database() -> str:
    """Where Dagster's run/event storage is, as the project's dagster.yaml names it."""
    import os

    host, port, name = (os.environ.get(f"DAGSTER_PG_{k}") for k in ("HOST", "PORT", "DB"))
    if host:
        return f"Postgres at {host}:{port or 5432}/{name or '?'} (DAGSTER_PG_HOST/PORT/DB)"
    return "the database of the Dagster instance (DAGSTER_HOME/dagster.yaml)"


def kernel_failure(err: Exception) -> str:
    """What to tell the user when the notebook did not fail in a cell but around it."""
    text = f"{type(err).__name__}: {err}".strip()
    if type(err).__name__ == "DagsterPostgresException":  # dagstermill's event/log writes
        return (f"could not finish: Dagster's storage, {_storage_database()}, could not be "
                f"reached while the notebook ran ({text}). Start it again (local profile: "
                "`llm-assets up`) and rerun the process; with LLM_ASSETS_MAX_RETRIES set the "
                "step is retried")
    if "DeadKernel" in type(err).__name__ or "kernel died" in text.lower():
        return (f"failed: the notebook kernel died while a cell was running (killed, or out of "
                f"memory: check the machine's memory and the notebook's data sizes). {text}")
    return f"could not be run: {text}"


def events_from_notebook(executed: Path):
    """Events the notebook sent with dagstermill.yield_event (AssetObservation, ...)."""
    import scrapbook

    for key, value in scrapbook.read_notebook(str(executed)).scraps.items():
        if key.startswith("event-"):
            with open(value.data, "rb") as handle:
                event = pickle.load(handle)
            if isinstance(event, dg.Failure | dg.RetryRequested):
                raise event
            yield event


