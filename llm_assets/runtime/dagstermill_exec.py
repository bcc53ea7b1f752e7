"""dagstermill's notebook execution (`dagstermill.factory.execute_notebook`), with papermill
options passed through: the run's kernel manager (pre-started kernels,
llm_assets.runtime.kernels).  The notebook gets dagstermill's context cell unchanged
(`context`: resources, logging, run id; `dagstermill.yield_event`).

dagstermill runs a teardown cell after the notebook's cells, also when the step is interrupted
(a cancelled run).  If the kernel is still busy with a cell then, the teardown is queued
behind it and the step waits for that cell to end (a cell sleeping 300 s held a cancelled
run for 300 s).  The client here interrupts the kernel first, so a cancelled step ends
within seconds, as dagstermill's own teardown intends."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

# dagstermill's retry of a kernel that died before answering (two kernels got the same port)
KERNEL_START_ATTEMPTS = 3


def execute_notebook(step_context, notebook_path: Path, output_dir: Path, inputs: dict,
                     **papermill_options) -> Path:
    import papermill
    from dagstermill.factory import get_papermill_parameters, replace_parameters
    from papermill.engines import papermill_engines
    from papermill.iorw import load_notebook_node, write_ipynb

    prefix = str(uuid.uuid4())
    parameterized = output_dir / f"{prefix}-inter.ipynb"
    executed = output_dir / f"{prefix}-out.ipynb"
    log_path = output_dir / f"{prefix}-log"  # dagstermill's output_log_path: not read
    parameters = get_papermill_parameters(step_context, inputs, str(log_path), "op")
    write_ipynb(replace_parameters(step_context, load_notebook_node(str(notebook_path)),
                                   parameters), str(parameterized))
    papermill_engines.register("dagstermill", _interrupting_engine())
    for attempt in range(KERNEL_START_ATTEMPTS):
        try:
            papermill.execute_notebook(input_path=str(parameterized),
                                       output_path=str(executed), engine_name="dagstermill",
                                       log_output=True, start_timeout=120, **papermill_options)
            break
        except RuntimeError as err:
            if ("Kernel died before replying to kernel_info" not in str(err)
                    or attempt == KERNEL_START_ATTEMPTS - 1):
                raise
            step_context.log.warning(f"Kernel startup failed (attempt {attempt + 1}/"
                                     f"{KERNEL_START_ATTEMPTS}), retrying")
            time.sleep(1)
    return executed


def _interrupting_engine():
    """dagstermill's papermill engine, with a client that interrupts the kernel when the step
    is interrupted in the middle of a cell (before dagstermill's teardown cell runs)."""
    from dagstermill.engine import DagstermillEngine, DagstermillNotebookClient
    from nbclient.util import run_sync
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class InterruptingClient(DagstermillNotebookClient):
        def execute_cell(self, cell, cell_index, *args, **kwargs):
            try:
                return super().execute_cell(cell, cell_index, *args, **kwargs)
            except BaseException as err:
                # KeyboardInterrupt or Dagster's DagsterExecutionInterruptedError: the step is
                # being stopped while the kernel may still run this cell
                if not isinstance(err, Exception) and self.km is not None:
                    logger.warning("step interrupted during cell %s: interrupting the kernel "
                                   "before dagstermill's teardown cell", cell_index)
                    run_sync(self.km.interrupt_kernel)()
                raise

    class InterruptingEngine(DagstermillEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=120,
                                     execution_timeout=None, **kwargs):
            # as DagstermillEngine.execute_managed_notebook, with the client above
            safe_kwargs = remove_args(["timeout", "startup_timeout", "input_path"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout, kernel_name=kernel_name, log=logger,
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            return InterruptingClient(nb_man, **final_kwargs).execute()

    return InterruptingEngine
