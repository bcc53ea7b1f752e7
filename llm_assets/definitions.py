"""The Dagster code location: `dg dev`, `dagster dev -m llm_assets.definitions`.

Thin on purpose: nothing runs at import; Dagster calls `defs()` when it loads the location,
which loads the project's defs folder (llm_assets/defs/: the control-tables component).
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
