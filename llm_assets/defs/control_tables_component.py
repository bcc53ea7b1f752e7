"""The control tables as a Dagster state-backed component (`dg.StateBackedComponent`).

- `write_state_to_path` reads the six configuration tables once (one query each, one
  repeatable-read transaction), validates them and reads each distinct notebook file they
  point at (digest and declared checks): the `ControlState`;
- `build_defs_from_state` builds the definitions from that state only.

How the state is kept is Dagster's `defs_state` setting of the component
(`llm_assets/defs/control_tables/defs.yaml`):

- `LEGACY_CODE_SERVER_SNAPSHOTS` (default): read again at every code-location load (start,
  reload, the reload sensor) and carried by Dagster to run workers, step processes, Celery
  workers and notebook kernels with each run, so those never read the control tables and
  always see the rows their run was planned with;
- `LOCAL_FILESYSTEM` / `VERSIONED_STATE_STORAGE`: refreshed by `dg utils refresh-defs-state`
  (and by `dagster dev`/`dg dev` at start), read from the file / the instance's state storage.

Step processes and kernels build only their scope (llm_assets.core.scope).
"""


import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster.components import DefsStateConfig, DefsStateConfigArgs, ResolvedDefsStateConfig
from dagster_shared.serdes.objects.models.defs_state_info import DefsStateManagementType

from llm_assets.compat import code_server_state_unavailable, keep_code_server_state
from llm_assets.core import settings
from llm_assets.core.names import STATE_FILE_ENV, STATE_KEY
from llm_assets.core.scope import current_scope
from llm_assets.core.state import ControlState
from llm_assets.defs.build import build_definitions
from llm_assets.defs.status import empty_status_spec
from llm_assets.store.snapshot import load_snapshot

# state read by a load without a code server's load data, for the other loads of this process
_read_in_this_process: dict[str, str] = {}
logger = logging.getLogger("llm_assets")


def read_control_state(url: str | None = None, notebooks_root: Path | None = None
                       ) -> ControlState:
    """Read the control tables and the notebooks they point at (the component's state)."""
    state = ControlState.build(load_snapshot(url), notebooks_root or settings.notebooks_dir())
    for stream, reasons in state.excluded.items():
        logger.warning("llm_assets: stream %s excluded: %s", stream, " | ".join(reasons))
    return state


@dataclass
class ControlTablesComponent(dg.StateBackedComponent, dg.Resolvable):
    """Streams, process groups, processes, dependencies and schedules from the Postgres control
    tables (schema cntl_af) as assets, jobs and schedules."""

    defs_state: ResolvedDefsStateConfig = field(
        default_factory=DefsStateConfigArgs.legacy_code_server_snapshots)

    @property
    def defs_state_config(self) -> DefsStateConfig:
        return DefsStateConfig.from_args(self.defs_state, default_key=STATE_KEY)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        if (self.defs_state_config.management_type
                == DefsStateManagementType.LEGACY_CODE_SERVER_SNAPSHOTS
                and code_server_state_unavailable(self.defs_state_config.key)):
            # `dagster job execute -m`, `dg launch`, `dagster asset materialize -m`: Dagster
            # loads the location in this process without a code server's load data, so read
            # the state now, as a code server would, and hand it on to the run's steps
            key = self.defs_state_config.key
            cached = f"{key}|{current_scope().describe()}"  # the state kept is the scope's
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "state"
                handed = os.environ.get(STATE_FILE_ENV)
                if cached in _read_in_this_process:  # the CLI loads the location several times
                    path.write_text(_read_in_this_process[cached])
                elif handed and Path(handed).is_file():  # a kernel of a Celery step
                    path.write_text(Path(handed).read_text())
                else:
                    self.write_state_to_path(path)
                    _read_in_this_process[cached] = path.read_text()
                keep_code_server_state(key, path.read_text())
                return self.build_defs_from_state(context, path)
        return super().build_defs(context)

    def write_state_to_path(self, state_path: Path) -> None:
        logger.info("llm_assets: reading the control tables")
        state = read_control_state()
        scope = current_scope()
        if not scope.everything:  # a process that runs one stream (`llm-assets run`): its
            # steps (Celery tasks included) carry only that part of the state
            total = len(state.snapshot.processes)
            state = state.for_streams(state.snapshot.streams_of(scope.streams, scope.processes))
            logger.info("llm_assets: kept the control state of %d of %d processes (scope: %s)",
                        len(state.snapshot.processes), total, scope.describe())
        state_path.write_text(state.to_text())

    def build_defs_from_state(self, context: dg.ComponentLoadContext,
                              state_path: Path | None) -> dg.Definitions:
        if state_path is None:
            return dg.Definitions(assets=[empty_status_spec(
                "No control-table state has been written yet: run `dg utils "
                "refresh-defs-state` (or start the location with `dg dev` / `make dev`).")])
        state = ControlState.from_text(state_path.read_text())
        scope = current_scope()
        total = len(state.snapshot.processes)
        if not scope.everything:
            state = state.for_streams(state.snapshot.streams_of(scope.streams, scope.processes))
        defs = build_definitions(state, scope=scope)
        built = sum(isinstance(a, dg.AssetsDefinition) for a in defs.assets or ())
        logger.info("llm_assets: built %d of %d processes (scope: %s)", built, total,
                    scope.describe())
        return defs
