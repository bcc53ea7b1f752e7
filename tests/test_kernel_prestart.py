"""Pre-started notebook kernels (llm_assets.runtime.kernels, kernel_server): a step gets a
kernel that was ready before it asked, and that kernel carries nothing of an earlier process
(its variables, module state, open files, environment, imports); a warm kernel that died or
whose step died is never handed out or left running."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import uuid

import pytest

from llm_assets.runtime import kernels
from tests.support.pg import execute, prepare
from tests.support.project import ROOT, project_env, project_instance, run, wait_for

FIXTURES = str(ROOT / "tests" / "fixtures" / "notebooks")


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ---- end to end: three processes in a row, one warm kernel at a time ---------------------

ROWS = """
INSERT INTO cntl_af.cntl_cfg_strem (strem_nm) VALUES ('kernels');
INSERT INTO cntl_af.cntl_cfg_prcs_grp (prcs_grp, strem_nm, prir) VALUES
    ('kernels_1', 'kernels', 1), ('kernels_2', 'kernels', 2), ('kernels_3', 'kernels', 3);
"""


def _step_records(env: dict, run_id: str) -> tuple[dict, dict]:
    """(materialization metadata by step, kernel log messages by step) of a run."""
    with project_instance(env) as instance:
        records = instance.all_logs(run_id)
    metadata, messages = {}, {}
    for record in records:
        event = record.dagster_event
        if event is not None and event.event_type_value == "ASSET_MATERIALIZATION":
            metadata[event.step_key] = {
                k: getattr(v, "value", v)
                for k, v in event.event_specific_data.materialization.metadata.items()}
        elif event is None and "pre-started kernel" in record.user_message:
            messages[record.step_key] = record.user_message
    return metadata, messages


@pytest.mark.e2e
@pytest.mark.slow
def test_each_process_gets_a_pre_started_kernel_that_holds_nothing_of_the_previous_one(
        pg_url, tmp_path, monkeypatch):
    prepare(pg_url)
    execute(pg_url, ROWS)
    for name, notebook, tier in (("k_leave", "leave", 1), ("k_look", "look", 2),
                                 ("k_look_later", "look", 3)):
        execute(pg_url, "INSERT INTO cntl_af.cntl_cfg_prcs (prcs_nm, prcs_grp, nb_path_nm, "
                        "nb_parm) VALUES (%s, %s, %s, %s)",
                (name, f"kernels_{tier}", f"kernels/{notebook}.ipynb", f"mark_dir={tmp_path}"))
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    # one warm kernel at a time: the third process's kernel is forked after the first
    # process's notebook ran (while the second's ran)
    env = project_env(pg_url, tmp_path, LLM_ASSETS_NOTEBOOKS_DIR=FIXTURES,
                      LLM_ASSETS_WARM_KERNELS="1")
    proc = run(["dagster", "job", "execute", "-m", "llm_assets.definitions", "-j", "kernels"],
               env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with project_instance(env) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
    metadata, messages = _step_records(env, run_id)

    # the first kernel saw its own leftovers: the probe detects each kind of leak
    assert metadata["k_leave"]["leaks"] == ("environment,imported_module,llm_assets_state,"
                                            "module_state,open_file,variable")
    # the next kernels see none of them, though the file is still there
    for step in ("k_look", "k_look_later"):
        assert metadata[step]["leaks"] == "none", metadata[step]
        assert metadata[step]["mark_written"] is True
    # every step ran in a kernel that was ready before it asked, each a different one
    pids = {step: int(metadata[step]["kernel_pid"]) for step in metadata}
    assert len(set(pids.values())) == 3, pids
    for step, pid in pids.items():
        assert f"pre-started kernel pid {pid} " in messages[step], messages
    assert not any(_running(pid) for pid in pids.values())  # each shut down after its step


# ---- the kernel server itself ------------------------------------------------------------

@pytest.fixture
def server():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["llm_assets.runtime.kernel_server", *kernels.KERNEL_PRELOAD])
    started = kernels.KernelServer(f"test-{uuid.uuid4().hex[:12]}", budget=3, warm=2)
    assert started.start(context)
    yield started
    started.stop()


def _warm(server, count: int) -> list[int]:
    status = wait_for(lambda: (s := kernels.status(server.run_id)) and len(s["warm"]) >= count
                   and s, 120, f"{count} warm kernels")
    return status["warm"]


def _run_code(claimed: dict, code: str) -> str:
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient()
    client.load_connection_info(dict(claimed["connection"],
                                     key=claimed["connection"]["key"].encode()))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out = []
        reply = client.execute_interactive(
            code, timeout=60,
            output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        client.shutdown()
    finally:
        client.stop_channels()
    return "".join(out)


@pytest.mark.integration
def test_a_warm_kernel_that_died_before_use_is_replaced_not_used(server, tmp_path):
    first, second = _warm(server, 2)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not _running(first), 10, "the killed kernel to be gone")
    claimed = kernels.claim(server.run_id, env={**os.environ, "LLM_ASSETS_MARK": "mine"},
                            cwd=str(tmp_path))
    assert claimed is not None and claimed["pid"] != first
    assert _running(claimed["pid"])
    printed = _run_code(claimed, "import os\nprint(os.getpid(), os.getcwd(), "
                                 "os.environ['LLM_ASSETS_MARK'])")
    assert printed.split() == [str(claimed["pid"]), str(tmp_path), "mine"]
    wait_for(lambda: not _running(claimed["pid"]), 10, "the used kernel to exit")

    # every warm kernel dead: the next claim gets a kernel started for it, not a dead one
    for pid in _warm(server, 1):
        os.kill(pid, signal.SIGKILL)
    dead = set(kernels.status(server.run_id)["warm"]) | {first, second}
    claimed = kernels.claim(server.run_id, env=dict(os.environ), cwd=str(tmp_path))
    assert claimed is not None and claimed["pid"] not in dead
    assert _run_code(claimed, "print(6 * 7)").strip() == "42"


@pytest.mark.integration
def test_a_claimed_kernel_dies_with_its_step_and_all_die_with_the_server(server):
    warm = _warm(server, 2)
    claimer = subprocess.run(
        [sys.executable, "-c", "import os, sys\nfrom llm_assets.runtime import kernels\n"
                               f"print(kernels.claim({server.run_id!r}, dict(os.environ), "
                               "os.getcwd())['pid'])"],
        capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    orphan = int(claimer.stdout.split()[-1])
    assert orphan in warm
    wait_for(lambda: not _running(orphan), 10, "the kernel of the exited claimer to be killed")
    status = kernels.status(server.run_id)
    alive = status["warm"] + status["claimed"]
    assert alive and orphan not in alive
    server.stop()
    wait_for(lambda: not any(_running(pid) for pid in alive), 10, "every kernel to be gone")


@pytest.mark.integration
def test_the_runs_renderer_renders_a_notebook_as_the_step_would(server):
    from llm_assets.runtime import html_render

    executed = ROOT / "tests" / "fixtures" / "notebooks" / "kernels" / "look.ipynb"
    ipynb = executed.read_bytes()
    wait_for(lambda: server.render_path.exists(), 10, "the renderer's socket")
    remote = html_render._render_remotely(server.run_id, ipynb)
    assert remote is not None and b"llm_assets_leak" in remote
    assert remote == html_render.render(ipynb)  # rendered here: the same page
    assert html_render._render_remotely(server.run_id, b"not a notebook") is None
    assert html_render.render(ipynb, server.run_id) == remote
