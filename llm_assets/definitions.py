"""The Dagster code location: `dg dev`, `dagster dev -m llm_assets.definitions`.

Thin on purpose: nothing runs at import; Dagster calls `defs()` when it loads the location,
which loads the project's defs folder (llm_assets/defs/: the control-tables component).

A run's reconstruction (run worker, step processes, notebook kernels) builds only the
control-tables component: the whole-project load also describes every installed component
type for `dg` and the UI (Dagster's plugin component JSON), which no step reads and which
cost each step process and kernel about a fifth of its start.
"""

from pathlib import Path

import dagster as dg

from llm_assets.compat import reconstructing

COMPONENT = "control_tables"  # llm_assets/defs/control_tables/defs.yaml


@dg.definitions
def defs() -> dg.Definitions:
    tree = dg.ComponentTree.for_project(Path(__file__).parent)
    if reconstructing():
        return tree.build_defs(COMPONENT)
    return tree.build_defs()
