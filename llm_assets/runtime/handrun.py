"""What a demo notebook needs to also run by hand (Jupyter, outside Dagster).

Under Dagster, dagstermill's context cell defines `context`, whose `resources` are the
process's resources, and the upstream results arrive as variables.  By hand, `resources`
builds the profile's resources (llm_assets.backends.profile) and `upstream` loads the value
the last Dagster run stored for the upstream asset (data lake key `io/<process>`).
"""

from __future__ import annotations

import pickle
from types import SimpleNamespace

_open: dict = {}


def resources(namespace: dict, keys: list[str]):
    """`context.resources` under Dagster, else the profile's resources `keys`, initialised."""
    context = namespace.get("context")
    if context is not None and hasattr(context, "resources"):
        return context.resources
    import dagster as dg

    from llm_assets.backends.profile import resources_for_profile

    defined = resources_for_profile()
    missing = [k for k in keys if k not in defined]
    if missing:
        raise KeyError(f"resources {missing} are not defined by the profile "
                       f"(llm_assets/resources/profile.py has {sorted(defined)})")
    manager = dg.build_resources({k: defined[k] for k in keys})
    built = manager.__enter__()  # kept open for the kernel's lifetime (a hand run)
    _open[tuple(keys)] = manager
    return SimpleNamespace(**{k: getattr(built, k) for k in keys})


def upstream(datalake, name: str, value):
    """`value` when Dagster delivered it, else the last stored result of process `name`."""
    if value is not None:
        return value
    key = f"io/{name}"
    if not datalake.exists(key):
        raise FileNotFoundError(f"no stored result of process {name} ({key}): materialize it "
                                "once through Dagster, then run this notebook by hand")
    return pickle.loads(datalake.get_bytes(key))
