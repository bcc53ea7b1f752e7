"""Every private Dagster API llm_assets uses, in one place.

- Executing a stream's job in this process (`llm-assets run`) the way a code server and its
  run worker do: initialize the code location once (one read of the control tables), then
  hand its reconstruction metadata to the run and its step processes.  Dagster's public
  `execute_job` takes a reconstructable job, and the only way to make one of a code location
  with its load data is `ReconstructableRepository` (what `dagster job execute` uses).
- Starting a run worker as `dagster api execute_run` (llm_assets.defs.launcher), as the
  K8sRunLauncher does in run pods, and telling which code locations run on this host.
- Telling whether a reconstruction carries the control state: Dagster's in-process commands
  (`dg launch`, `dagster asset materialize -m`) reconstruct the location without the load data
  a code server would pass, and a state-backed component then has no state to read.

- Passing the steps of priority-tier gates in the run worker (`pass_tagged_steps`): Dagster's
  multiprocess executor starts a process for every step and has no public hook for where or
  how a step runs; a gate does nothing, and a step-process start (or even an execution plan,
  resources and compute-log capture in the run worker) would be most of the latency it adds
  between two tiers.  The run worker writes the gate's step events itself.

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


def pass_tagged_steps(tag: str) -> None:
    """Make Dagster's multiprocess executor pass each step whose op carries the tag `tag`
    without executing it: when the step is ready (every upstream step succeeded), the run
    worker writes the events Dagster's own execution of an op that only yields its outputs
    would write (STEP_START, STEP_OUTPUT per output, ASSET_MATERIALIZATION per asset output,
    STEP_SUCCESS), so the asset is materialized and its downstream steps start, with no
    execution plan, resources, compute-log capture or step process.  For priority-tier
    gates: ordering nodes whose compute does nothing.  Idempotent.

    A tagged step with an output that is not of type Nothing is launched as usual (a value
    cannot be made up)."""
    _wrap_step_launch(tag, _passed)


def _wrap_step_launch(tag: str, handler) -> None:
    """Wrap the function Dagster's multiprocess executor calls to launch each step
    (`execute_step_out_of_process`: it has no public hook for where or how a step runs) so
    that a step whose op carries `tag` goes to `handler` instead; every other step is
    launched as before."""
    import functools
    import inspect

    from dagster._core.executor import multiprocess

    launch = multiprocess.execute_step_out_of_process
    handlers = getattr(launch, "llm_assets_step_handlers", None)
    if handlers is not None:
        handlers[tag] = handler
        return
    signature = inspect.signature(launch)
    handlers = {tag: handler}

    @functools.wraps(launch)
    def execute_step(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs).arguments
        step_tags = arguments["step"].tags or {}
        for key, handle in handlers.items():
            if key in step_tags:
                handled = handle(arguments)
                if handled is not None:
                    return handled
        return launch(*args, **kwargs)

    execute_step.llm_assets_step_handlers = handlers  # type: ignore[attr-defined]
    multiprocess.execute_step_out_of_process = execute_step


def _passed(arguments: dict):
    if any(output.dagster_type_key != "Nothing" for output in arguments["step"].step_outputs):
        return None
    return _passed_events(arguments)


def _passed_events(arguments: dict):
    import time

    import dagster as dg
    from dagster._core.definitions.data_version import (
        CODE_VERSION_TAG,
        DATA_VERSION_IS_USER_PROVIDED_TAG,
        DATA_VERSION_TAG,
    )
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.execution.plan.objects import StepSuccessData
    from dagster._core.execution.plan.outputs import StepOutputData, StepOutputHandle

    started = time.perf_counter()
    step_context, step = arguments["step_context"], arguments["step"]
    yield DagsterEvent.step_start_event(step_context)
    for output in step.step_outputs:
        yield DagsterEvent.from_step(
            DagsterEventType.STEP_OUTPUT, step_context,
            StepOutputData(StepOutputHandle(step.key, output.name)),
            message=f'Yielded output "{output.name}" of type "Nothing". (Type check passed).')
    run_id = step_context.dagster_run.run_id
    for output in step.step_outputs:
        if output.properties.is_asset and output.properties.asset_key is not None:
            yield DagsterEvent.asset_materialization(step_context, dg.AssetMaterialization(
                output.properties.asset_key,
                tags={CODE_VERSION_TAG: run_id, DATA_VERSION_TAG: "passed",
                      DATA_VERSION_IS_USER_PROVIDED_TAG: "true"}))
    yield DagsterEvent.step_success_event(
        step_context, StepSuccessData(duration_ms=(time.perf_counter() - started) * 1000.0))


def code_server_state(load_data, key: str) -> str | None:
    """The code-server state of component `key` carried by `load_data` (a RepositoryLoadData:
    a reconstructable job's reconstruction metadata), or None."""
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )
    from dagster.components.utils.project_paths import get_code_server_metadata_key

    if load_data is None:
        return None
    context = DefinitionsLoadContext(load_type=DefinitionsLoadType.RECONSTRUCTION,
                                     repository_load_data=load_data)
    return context.reconstruction_metadata.get(get_code_server_metadata_key(key))


def location_on_this_host(run) -> bool:
    """True when the run's code location is served on this host: a code server that the
    webserver/daemon start themselves (a workspace `python_module` entry; `dagster dev` serves
    it on a local socket) or one at a loopback address; False for a code server elsewhere (a
    `grpc_server` entry such as compose's `user_code`)."""
    from dagster._core.remote_origin import (
        GrpcServerCodeLocationOrigin,
        ManagedGrpcPythonEnvCodeLocationOrigin,
    )

    origin = run.remote_job_origin
    location = origin.repository_origin.code_location_origin if origin is not None else None
    if isinstance(location, ManagedGrpcPythonEnvCodeLocationOrigin):
        return True
    if isinstance(location, GrpcServerCodeLocationOrigin):
        return bool(location.socket) or location.host in ("localhost", "127.0.0.1", "::1")
    return False


def execute_run_command(run, instance_ref) -> list[str]:
    """`dagster api execute_run ...` for `run`: what a K8sRunLauncher run pod executes."""
    from dagster._grpc.types import ExecuteRunArgs
    from dagster_shared.serdes import serialize_value

    args = ExecuteRunArgs(job_origin=run.job_code_origin, run_id=run.run_id,
                          instance_ref=instance_ref, set_exit_code_on_failure=True)
    # the code location's Python, whatever is on PATH
    return [run.job_code_origin.executable_path, "-m", "dagster", "api", "execute_run",
            serialize_value(args)]
