"""Run one process: its notebook through dagstermill, with the documented parameters.

The executed notebook and its HTML rendering are stored in the data lake at
`runs/<stream>/<process>/<run_id>/<process>.ipynb|.html`, on success and on failure, and
linked from the materialization (or named in the failure message).
"""

from __future__ import annotations

import json
import pickle
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from llm_assets import config, nb
from llm_assets.control.models import ControlSnapshot, Process
from llm_assets.control.params import parse_nb_parm
from llm_assets.factory.scope import PROCESSES_ENV, scoped_env

SCHEDULED_TAG = "dagster/scheduled_execution_time"


def run_key_prefix(stream: str, process: str, run_id: str) -> str:
    return f"runs/{stream}/{process}/{run_id}"


def data_date(run: dg.DagsterRun) -> str:
    """The schedule's date for scheduled runs, else the run's own date (UTC)."""
    scheduled = run.tags.get(SCHEDULED_TAG)
    if scheduled:
        return datetime.fromisoformat(scheduled).date().isoformat()
    return datetime.now(UTC).date().isoformat()


def notebook_path(process: Process, root: Path | None = None) -> Path:
    base = (root or config.notebooks_dir()).resolve()
    path = (base / process.nb_path_nm).resolve()
    if Path(process.nb_path_nm).is_absolute() or not path.is_relative_to(base):
        raise dg.Failure(
            f"cntl_cfg_prcs[{process.prcs_nm}].nb_path_nm {process.nb_path_nm!r} is outside "
            f"{base}: notebooks must live under notebooks/",
            allow_retries=False,
        )
    if not path.is_file():
        raise dg.Failure(
            f"notebook {path} of process {process.prcs_nm} does not exist: create it or correct "
            "cntl_cfg_prcs.nb_path_nm, then reload the code location",
            allow_retries=False,
        )
    return path


def build_parameters(snapshot: ControlSnapshot, process: Process, run: dg.DagsterRun,
                     upstream: list[str]) -> dict:
    group = snapshot.group_by_name[process.prcs_grp]
    stream = snapshot.stream_by_name[group.strem_nm]
    parsed = parse_nb_parm(process.nb_parm)
    sys_file = snapshot.sys_file_by_name.get(process.sys_file) if process.sys_file else None
    sys_dict = asdict(sys_file) if sys_file else None
    if sys_dict:
        sys_dict.pop("upt_dt", None)
    return {
        "stream": stream.strem_nm,
        "group": group.prcs_grp,
        "process": process.prcs_nm,
        "run_id": run.run_id,
        "data_dt": data_date(run),
        "nb_parm": process.nb_parm,
        "nb_args": parsed.args,
        "nb_kwargs": parsed.kwargs,
        "sys_file": sys_dict,
        "embed_model": process.embed_model,
        "gen_model": process.gen_model,
        "collection": process.collection,
        "question": stream.question,
        "upstream": upstream,
        "profile": config.profile(),
    }


def _prepared_notebook(source: Path, params: dict, out_dir: Path, target: Path,
                       inputs_file: Path | None = None) -> None:
    """Copy the notebook with our parameter cell right after the `parameters` cell (which
    dagstermill replaces with its context cell).  With `inputs_file` (the papermill engine)
    the cell also loads the upstream values, which dagstermill otherwise injects."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    bound = dict(params, _out_dir=str(out_dir))
    load_inputs = "" if inputs_file is None else (
        "import pickle as __la_pickle\n"
        f"with open({str(inputs_file)!r}, 'rb') as __la_file:\n"
        "    globals().update(__la_pickle.load(__la_file))\n")
    cell = nbformat.v4.new_code_cell(
        "# llm_assets: injected parameters\n"
        "import json as __la_json\n"
        "from llm_assets import nb as __la_nb\n"
        f"params = __la_nb.bind(__la_json.loads({json.dumps(bound, default=str)!r}))\n"
        + load_inputs
    )
    cell.metadata["tags"] = ["llm-assets-parameters"]
    index = next((i for i, c in enumerate(nb.cells)
                  if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    nb.cells.insert(index + 1, cell)
    nbformat.write(nb, target)


def _html(ipynb: bytes) -> bytes:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.reads(ipynb.decode(), as_version=4))
    return body.encode()


STORE_ERROR = "_store_error"


def _keep_locally(prefix: str, process: str, data: bytes) -> Path:
    """Where an executed notebook goes when the data lake cannot take it."""
    kept = config.home_dir() / "kept-notebooks" / prefix / f"{process}.ipynb"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(data)
    return kept


def _store_notebook(context, datalake, prefix: str, process: str, executed: Path | None) -> dict:
    """Store executed notebook + HTML; return metadata links (empty if nothing was executed).

    If the data lake refuses the notebook (endpoint down, credentials), the notebook is kept on
    this machine under <LLM_ASSETS_HOME>/kept-notebooks/ and the error is returned under
    `STORE_ERROR` for the caller to report."""
    from llm_assets.errors import LlmAssetsError

    if executed is None or not executed.exists():
        return {}
    data = executed.read_bytes()
    nb_key = f"{prefix}/{process}.ipynb"
    html_key = f"{prefix}/{process}.html"
    try:
        datalake.put_bytes(nb_key, data)
    except (LlmAssetsError, OSError) as err:
        kept = _keep_locally(prefix, process, data)
        context.log.warning(f"{err}\nThe executed notebook is kept at {kept}")
        return {"executed_notebook": dg.MetadataValue.path(str(kept)),
                STORE_ERROR: f"{err} The executed notebook is kept at {kept}"}
    try:
        datalake.put_bytes(html_key, _html(data))
    except Exception as err:  # noqa: BLE001 - rendering is best effort; the .ipynb is kept
        context.log.warning(f"could not render {nb_key} as HTML: {err}")
        return {"executed_notebook": dg.MetadataValue.url(datalake.url(nb_key))}
    return {
        "executed_notebook": dg.MetadataValue.url(datalake.url(nb_key)),
        "executed_notebook_html": dg.MetadataValue.url(datalake.url(html_key)),
    }


def _run_with_dagstermill(context, process: Process, prepared: Path, work: Path,
                          inputs: dict) -> Path:
    """The dagstermill engine: the kernel rebuilds the Dagster context of the step (only this
    process, plus the run's selection or step list, which its execution plan names)."""
    from dagstermill.factory import execute_notebook

    step_context = (context.op_execution_context if hasattr(context, "op_execution_context")
                    else context).get_step_execution_context()
    selection = {k.to_user_string() for k in (context.run.asset_selection or ())}
    selection |= set(context.run.step_keys_to_execute or ())
    with scoped_env(PROCESSES_ENV, {process.prcs_nm} | selection):
        return Path(execute_notebook(step_context, name=process.prcs_nm,
                                     save_notebook_on_failure=False,
                                     notebook_path=str(prepared), output_notebook_dir=str(work),
                                     inputs=inputs))


def _run_with_papermill(prepared: Path, work: Path) -> Path:
    """The papermill engine: the notebook runs in a kernel that gets only its parameters and
    upstream values (no Dagster context to rebuild), like the original framework's runs."""
    import papermill

    executed = work / f"{prepared.stem}-out.ipynb"
    papermill.execute_notebook(str(prepared), str(executed), kernel_name="python3",
                               progress_bar=False, log_output=False)
    return executed


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


def _events_from_notebook(executed: Path):
    """Events the notebook sent with dagstermill.yield_event (AssetObservation, ...)."""
    import scrapbook

    for key, value in scrapbook.read_notebook(str(executed)).scraps.items():
        if key.startswith("event-"):
            with open(value.data, "rb") as handle:
                event = pickle.load(handle)
            if isinstance(event, dg.Failure | dg.RetryRequested):
                raise event
            yield event


class ProcessRunner:
    """The compute function of every process asset (bound to one snapshot): Dagster calls it
    as `runner(context, inputs)`; the process is the op's name."""

    def __init__(self, snapshot: ControlSnapshot, notebooks_root: Path | None = None):
        self.snapshot = snapshot
        self.notebooks_root = notebooks_root

    @staticmethod
    def _failure(context, datalake, prefix: str, process: Process, work: Path, what: str,
                 error_type: str, error: str) -> dg.Failure:
        """The step failure of a notebook, with the (partly) executed notebook kept and linked."""
        failed = next(iter(work.glob("*-out.ipynb")), None)
        links = _store_notebook(context, datalake, prefix, process.prcs_nm, failed)
        store_error = links.pop(STORE_ERROR, None)
        where = links.get("executed_notebook")
        return dg.Failure(
            description=(
                f"notebook notebooks/{process.nb_path_nm} of process {process.prcs_nm} {what}"
                + (f"\nExecuted notebook: {where.value}" if where else "")
                + (f"\n{store_error}" if store_error else "")
            ),
            metadata={**links, "error_type": error_type,
                      "error": dg.MetadataValue.text(error[:2000])},
        )

    def __call__(self, context, inputs: dict):
        process = self.snapshot.process_by_name[context.op_def.name]
        yield from self.run(context, process, dict(inputs))

    def run(self, context, process: Process, inputs: dict):
        from dagstermill.compat import ExecutionError  # papermill's and nbclient's cell errors

        source = notebook_path(process, self.notebooks_root)
        group = self.snapshot.group_by_name[process.prcs_grp]
        prefix = run_key_prefix(group.strem_nm, process.prcs_nm, context.run.run_id)
        datalake = context.resources.datalake
        params = build_parameters(self.snapshot, process, context.run, sorted(inputs))
        if source.suffix == ".py":  # a script process: no kernel (llm_assets/script_runner.py)
            from llm_assets.script_runner import run_script

            value, reported = run_script(context, process.prcs_nm, process.nb_path_nm, source,
                                         params, inputs)
            yield dg.Output(value, metadata={
                **reported, "script": dg.MetadataValue.path(f"notebooks/{process.nb_path_nm}"),
                "data_dt": params["data_dt"], "has_result": value is not None})
            return
        with tempfile.TemporaryDirectory(prefix=f"llm-assets-{process.prcs_nm}-") as tmp:
            work = Path(tmp)
            out_dir = work / "out"
            out_dir.mkdir()
            prepared = work / source.name
            engine = config.notebook_engine()
            inputs_file = None
            if engine == "papermill":
                inputs_file = work / "inputs.pkl"
                with open(inputs_file, "wb") as handle:
                    pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
            _prepared_notebook(source, params, out_dir, prepared, inputs_file)
            executed: Path | None = None
            try:
                if engine == "papermill":
                    executed = _run_with_papermill(prepared, work)
                else:
                    executed = _run_with_dagstermill(context, process, prepared, work, inputs)
            except ExecutionError as err:  # a cell raised (either engine)
                raise self._failure(context, datalake, prefix, process, work,
                                    f"failed: {err.ename}: {err.evalue}", err.ename,
                                    str(err.evalue)) from None
            except Exception as err:  # the kernel died or could not start (nbclient, papermill)
                raise self._failure(context, datalake, prefix, process, work,
                                    kernel_failure(err), type(err).__name__, str(err)) from None
            links = _store_notebook(context, datalake, prefix, process.prcs_nm, executed)
            if STORE_ERROR in links:  # ran, but the data lake is unreachable: retryable
                raise dg.Failure(
                    f"notebook notebooks/{process.nb_path_nm} of process {process.prcs_nm} ran, "
                    f"but its executed notebook could not be stored: {links.pop(STORE_ERROR)}",
                    metadata={**links, "error_type": "ServiceUnavailable"})
            yield from _events_from_notebook(executed)
            value, reported = nb.collect(out_dir)
        metadata = {**reported, **links, "data_dt": params["data_dt"],
                    "has_result": value is not None}
        yield dg.Output(value, metadata=metadata)
