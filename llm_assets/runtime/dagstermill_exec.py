"""dagstermill's notebook execution (`dagstermill.factory.execute_notebook`), with papermill
options passed through: the run's kernel manager (pre-started kernels,
llm_assets.runtime.kernels).  The notebook gets dagstermill's context cell unchanged
(`context`: resources, logging, run id; `dagstermill.yield_event`)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

# dagstermill's retry of a kernel that died before answering (two kernels got the same port)
KERNEL_START_ATTEMPTS = 3


def execute_notebook(step_context, notebook_path: Path, output_dir: Path, inputs: dict,
                     **papermill_options) -> Path:
    import papermill
    from dagstermill.engine import DagstermillEngine
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
    papermill_engines.register("dagstermill", DagstermillEngine)
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
