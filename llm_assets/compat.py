"""Every private Dagster API llm_assets uses, in one place.

- Executing a stream's job in this process (`llm-assets run`) the way a code server and its
  run worker do: initialize the code location once (one read of the control tables), then
  hand its reconstruction metadata to the run and its step processes.  Dagster's public
  `execute_job` takes a reconstructable job, and the only way to make one of a code location
  with its load data is `ReconstructableRepository` (what `dagster job execute` uses).
- Telling whether a reconstruction carries the control state: Dagster's in-process commands
  (`dg launch`, `dagster asset materialize -m`) reconstruct the location without the load data
  a code server would pass, and a state-backed component then has no state to read.

`tests/unit/test_dagster_compat.py` fails when a Dagster upgrade changes any of these.

This module imports nothing from llm_assets (an import-linter contract keeps it a leaf).
"""

from __future__ import annotations


def initialized_job(module: str, attribute: str, job_name: str, working_directory: str):
    """A reconstructable job of the code location `module:attribute`, initialized once in this
    process (as a code server does) and carrying the location's load data."""
    from dagster._core.definitions.reconstruct import (
        ReconstructableRepository,
        initialize_repository_def_from_pointer,
    )

    repo = ReconstructableRepository.for_module(module, attribute,
                                                working_directory=working_directory)
    load_data = initialize_repository_def_from_pointer(repo.pointer).repository_load_data
    return repo.with_repository_load_data(load_data).get_reconstructable_job(job_name)


def code_server_state_unavailable(key: str) -> bool:
    """True when this definitions load cannot give the code-server state of the state-backed
    component `key`: no load context was set (Dagster then hands out a fresh context on each
    call, so state written during the load is lost), or a reconstruction whose load data does
    not carry the state."""
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )
    from dagster.components.utils.project_paths import get_code_server_metadata_key

    if not DefinitionsLoadContext.is_set():
        return True
    context = DefinitionsLoadContext.get()
    return (context.load_type == DefinitionsLoadType.RECONSTRUCTION
            and get_code_server_metadata_key(key) not in context.reconstruction_metadata)


def keep_code_server_state(key: str, state: str) -> None:
    """Record `state` as the code-server state of component `key` in this load, so Dagster
    hands it to the run's step processes with the location's load data (as it does for state
    read at code-server initialization)."""
    from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext

    if DefinitionsLoadContext.is_set():
        DefinitionsLoadContext.get().add_code_server_defs_state_info(key, state)


def reconstructing() -> bool:
    """True when Dagster is reconstructing the code location from a run's load data (a run
    worker, a step process, a notebook kernel), not initializing it (a code server, `dg`)."""
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )

    return (DefinitionsLoadContext.is_set()
            and DefinitionsLoadContext.get().load_type == DefinitionsLoadType.RECONSTRUCTION)
