"""Unit tests of where steps go: queues and priorities from the control rows, the executor
chosen by LLM_ASSETS_EXECUTOR, the broker settings, the run worker's scope."""

from __future__ import annotations

import pytest

from llm_assets.core.errors import ConfigError, ServiceUnavailable
from llm_assets.core.models import ControlSnapshot, Process, ProcessGroup, Stream
from llm_assets.defs import broker, queues

pytestmark = pytest.mark.unit


def _snapshot(*processes: Process) -> ControlSnapshot:
    return ControlSnapshot(streams=(Stream("s"), Stream("t")),
                           groups=(ProcessGroup("g", "s"), ProcessGroup("h", "t")),
                           processes=processes)


def test_model_processes_go_to_the_llm_queue_others_to_the_default():
    ask = Process("ask", "g", "x.ipynb", gen_model="m")
    embed = Process("embed", "g", "x.ipynb", embed_model="e")
    load = Process("load", "g", "x.ipynb")
    snap = _snapshot(ask, embed, load)
    assert [queues.process_queue(snap, p, {}) for p in (ask, embed, load)] == [
        "llm", "llm", "dagster"]


def test_nb_parm_queue_beats_the_stream_route_which_beats_the_model_rule():
    own = Process("own", "g", "x.ipynb", gen_model="m", nb_parm="rows=3|queue=gpu_big")
    own_json = Process("own_json", "g", "x.ipynb", nb_parm='{"queue": "docs"}')
    routed = Process("routed", "h", "x.ipynb", gen_model="m")
    snap = _snapshot(own, own_json, routed)
    routes = {"t": "batch"}
    assert queues.process_queue(snap, own, routes) == "gpu_big"
    assert queues.process_queue(snap, own_json, routes) == "docs"
    assert queues.process_queue(snap, routed, routes) == "batch"


def test_stream_queues_setting_is_parsed_and_checked(monkeypatch):
    monkeypatch.setenv(queues.STREAM_QUEUES_ENV, "doc_qa=docs, promo_reco=llm")
    assert queues.stream_queues() == {"doc_qa": "docs", "promo_reco": "llm"}
    monkeypatch.setenv(queues.STREAM_QUEUES_ENV, "doc_qa")
    with pytest.raises(ConfigError, match="stream=queue"):
        queues.stream_queues()
    monkeypatch.setenv(queues.STREAM_QUEUES_ENV, "doc_qa=no spaces")
    with pytest.raises(ConfigError, match="not a queue name"):
        queues.stream_queues()


def test_a_bad_queue_in_nb_parm_names_the_row():
    bad = Process("bad", "g", "x.ipynb", nb_parm="queue=a b")
    with pytest.raises(ConfigError, match=r"cntl_cfg_prcs\[prcs_nm=bad\]\.nb_parm"):
        queues.process_queue(_snapshot(bad), bad, {})


def test_priority_tags_follow_prir_clamped_to_celery_range():
    tags = [queues.placement_tags(_snapshot(p), p, {}, {})[queues.CELERY_PRIORITY_TAG]
            for p in (Process("a", "g", "x", prir=-3), Process("b", "g", "x", prir=4),
                      Process("c", "g", "x", prir=40))]
    assert tags == ["0", "4", "9"]


def test_process_assets_carry_the_placement_tags():
    from llm_assets.core.graph import build_graph
    from llm_assets.defs.assets import process_asset

    ask = Process("ask", "g", "x.ipynb", gen_model="m")
    snap = _snapshot(ask)
    asset = process_asset(snap, ask, build_graph(snap), lambda c, i: None,
                          placement=queues.placement_tags(snap, ask, {}, {}))
    assert asset.op.tags[queues.QUEUE_TAG] == "llm"
    assert asset.op.tags[queues.CELERY_PRIORITY_TAG] == "1"


def test_executor_is_chosen_by_setting(monkeypatch):
    from llm_assets.defs.executor import executor_definition

    monkeypatch.delenv(broker.EXECUTOR_ENV, raising=False)
    assert executor_definition().name == "multiprocess"
    monkeypatch.setenv(broker.EXECUTOR_ENV, "celery")
    assert executor_definition().name == "celery"
    monkeypatch.setenv(broker.EXECUTOR_ENV, "k8s")
    assert executor_definition().name == "k8s"
    monkeypatch.setenv(broker.EXECUTOR_ENV, "threads")
    with pytest.raises(ConfigError, match="LLM_ASSETS_EXECUTOR='threads'"):
        executor_definition()


def test_broker_urls_from_settings_or_the_local_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path))
    monkeypatch.setenv("LLM_ASSETS_PROFILE", "local")
    monkeypatch.delenv(broker.BROKER_ENV, raising=False)
    monkeypatch.delenv(broker.BACKEND_ENV, raising=False)
    with pytest.raises(ConfigError, match="llm-assets up"):
        broker.broker_url()
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "state.json").write_text('{"port": 56400}')
    assert broker.broker_url() == "redis://127.0.0.1:56400/0"
    assert broker.backend_url() == "redis://127.0.0.1:56400/1"
    monkeypatch.setenv(broker.BROKER_ENV, "redis://:pw@redis:6379/0")
    assert broker.backend_url() == "redis://:pw@redis:6379/1"
    monkeypatch.setenv(broker.BROKER_ENV, "amqp://guest@rabbit//")
    assert broker.backend_url() == "rpc://"


def test_unreachable_broker_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv(broker.BROKER_ENV, "redis://:s3cret@127.0.0.1:9/0")
    with pytest.raises(ServiceUnavailable) as err:
        broker.check_reachable("redis://:s3cret@127.0.0.1:9/0", timeout=1)
    message = str(err.value)
    assert "redis://:***@127.0.0.1:9/0" in message and "s3cret" not in message
    assert "LLM_ASSETS_CELERY_BROKER" in message


def test_run_worker_environment_carries_the_runs_scope(monkeypatch):
    import dagster as dg

    from llm_assets.core.scope import current_scope
    from llm_assets.defs.launcher import run_worker_env

    monkeypatch.setenv("LLM_ASSETS_SCOPE_STREAMS", "stale")
    stream_run = dg.DagsterRun(job_name="doc_qa", run_id="r1")
    env = run_worker_env(stream_run)
    assert env["DAGSTER_RUN_JOB_NAME"] == "doc_qa" and "LLM_ASSETS_SCOPE_STREAMS" not in env
    assert current_scope(env).streams == {"doc_qa"}
    picked = dg.DagsterRun(job_name="__ASSET_JOB", run_id="r2",
                           asset_selection={dg.AssetKey("ask"), dg.AssetKey("load")})
    assert current_scope(run_worker_env(picked)).processes == {"ask", "load"}
