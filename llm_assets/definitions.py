"""The Dagster code location: `dagster dev -m llm_assets.definitions`.

Thin on purpose: nothing runs at import; Dagster calls `defs()` when it loads the location.
"""

import dagster as dg

from llm_assets.factory.build import load_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return load_definitions()
