"""What a process notebook imports: `from llm_assets import nb` (see llm_assets.runtime.nb)."""

from llm_assets.runtime.nb import (
    PARAMETER_KEYS,
    Params,
    bind,
    check,
    collect,
    params,
    report,
    result,
)

__all__ = ["PARAMETER_KEYS", "Params", "bind", "check", "collect", "params", "report", "result"]
