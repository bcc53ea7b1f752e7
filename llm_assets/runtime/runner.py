"""Run one process: its notebook (through the configured engine) or its `.py` script, with
the documented parameters; the executed notebook is stored and linked
(llm_assets.runtime.notebook_store).
"""

from __future__ import annotations

import pickle
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from llm_assets.core import settings
from llm_assets.core.models import ControlSnapshot, Process
from llm_assets.core.names import SCHEDULED_TAG
from llm_assets.core.notebooks import notebook_problem, resolve
from llm_assets.core.params import data_date, process_parameters
from llm_assets.core.state import ControlState
from llm_assets.runtime import engines, nb
from llm_assets.runtime.checks import check_results
from llm_assets.runtime.notebook_store import STORE_ERROR, run_key_prefix, store_notebook


def notebook_path(process: Process, root: Path | None = None) -> Path:
    """The process's notebook file, or a non-retryable failure naming the row and the fix."""
    base = root or settings.notebooks_dir()
    problem = notebook_problem(process.nb_path_nm, base)
    if problem is not None:
        raise dg.Failure(
            f"cntl_cfg_prcs[{process.prcs_nm}]: {problem.message}: {problem.fix}, then reload "
            "the code location", allow_retries=False)
    return resolve(process.nb_path_nm, base)


def run_parameters(snapshot: ControlSnapshot, process: Process, run: dg.DagsterRun,
                   upstream: list[str]) -> dict:
    today = datetime.now(UTC).date()
    return process_parameters(
        snapshot, process, run_id=run.run_id,
        data_dt=data_date(run.tags.get(SCHEDULED_TAG), today).isoformat(),
        upstream=upstream, profile=settings.profile())


class ProcessRunner:
    """The compute function of every process asset (bound to one snapshot): Dagster calls it
    as `runner(context, inputs)`; the process is the op's name."""

    def __init__(self, state: ControlState, notebooks_root: Path | None = None):
        self.snapshot = state.snapshot
        self.notebooks = state.notebooks
        self.notebooks_root = notebooks_root

    @staticmethod
    def _failure(context, datalake, prefix: str, process: Process, work: Path, what: str,
                 error_type: str, error: str) -> dg.Failure:
        """The step failure of a notebook, with the (partly) executed notebook kept and linked."""
        failed = next(iter(work.glob("*-out.ipynb")), None)
        links = store_notebook(context, datalake, prefix, process.prcs_nm, failed)
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
        params = run_parameters(self.snapshot, process, context.run, sorted(inputs))
        if source.suffix == ".py":  # a script process: no kernel (llm_assets/script_runner.py)
            from llm_assets.runtime.script_runner import run_script

            value, reported, checks = run_script(context, process.prcs_nm, process.nb_path_nm,
                                                 source, params, inputs)
            yield dg.Output(value, metadata={
                **reported, "script": dg.MetadataValue.path(f"notebooks/{process.nb_path_nm}"),
                "data_dt": params["data_dt"], "has_result": value is not None})
            yield from check_results(process.prcs_nm, process.nb_path_nm,
                                     self.notebooks.get(process.nb_path_nm), checks)
            return
        with tempfile.TemporaryDirectory(prefix=f"llm-assets-{process.prcs_nm}-") as tmp:
            work = Path(tmp)
            out_dir = work / "out"
            out_dir.mkdir()
            prepared = work / source.name
            engine = settings.notebook_engine()
            inputs_file = None
            if engine == "papermill":
                inputs_file = work / "inputs.pkl"
                with open(inputs_file, "wb") as handle:
                    pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
            engines.prepare_notebook(source, params, out_dir, prepared, inputs_file,
                                     engine=engine)
            executed: Path | None = None
            try:
                if engine == "papermill":
                    executed = engines.run_with_papermill(prepared, work, context)
                else:
                    executed = engines.run_with_dagstermill(context, process, prepared, work,
                                                            inputs)
            except ExecutionError as err:  # a cell raised (either engine)
                raise self._failure(context, datalake, prefix, process, work,
                                    f"failed: {err.ename}: {err.evalue}", err.ename,
                                    str(err.evalue)) from None
            except Exception as err:  # the kernel died or could not start (nbclient, papermill)
                raise self._failure(context, datalake, prefix, process, work,
                                    engines.kernel_failure(err), type(err).__name__,
                                    str(err)) from None
            links = store_notebook(context, datalake, prefix, process.prcs_nm, executed)
            if STORE_ERROR in links:  # ran, but the data lake is unreachable: retryable
                raise dg.Failure(
                    f"notebook notebooks/{process.nb_path_nm} of process {process.prcs_nm} ran, "
                    f"but its executed notebook could not be stored: {links.pop(STORE_ERROR)}",
                    metadata={**links, "error_type": "ServiceUnavailable"})
            yield from engines.events_from_notebook(executed)
            value, reported = nb.collect(out_dir)
            checks = nb.collect_checks(out_dir)
        metadata = {**reported, **links, "data_dt": params["data_dt"],
                    "has_result": value is not None}
        yield dg.Output(value, metadata=metadata)
        yield from check_results(process.prcs_nm, process.nb_path_nm,
                                 self.notebooks.get(process.nb_path_nm), checks)
