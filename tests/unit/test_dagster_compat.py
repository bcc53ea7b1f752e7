"""The private Dagster API llm_assets relies on (llm_assets/compat.py) and the Dagster rules it
restates in pure Python (llm_assets/core/naming.py): a Dagster upgrade that changes any of
them fails here, not silently in a run."""

from __future__ import annotations

import pytest
import yaml

from llm_assets import compat
from llm_assets.core.names import STREAM_TAG
from llm_assets.core.naming import is_valid_cron, is_valid_name

pytestmark = pytest.mark.unit

CRONS = ["0 6 * * *", "*/5 * * * *", "0 0 1 1 *", "0 0 30 2 *", "0 0 31 2 *", "0 0 29 2 *",
         "60 0 * * *", "0 24 * * *", "0 0 * * 7", "0 0 * * 8", "0 0 * * mon-fri",
         "0 0 * jan,feb *", "0 0 L * *", "0 0 * * 5#3", "0 0 * * 5L", "a b c d e", "0 0 * *",
         "0 0 * * * *", "1-5/2 * * * *", "*/0 * * * *", "0 0 0 * *", "0 0 32 * *",
         "0 0 * 13 *", "5-1 * * * *", "0 0 1,15 * *", "0 9-17 * * 1-5", "@daily",
         "0 0 ? * *", "? * * * *", "0 0 * * SUN", "0 0 * * 0-6/2", "0 0 L 2 *",
         "0 0 1-31/10 * *", "0 0 * * 6#6", "00 06 * * *", "0 0 * * fri-mon", "0 0 30,31 2 *",
         "*/15 0-23/2 1-7 1-12/3 *", "0 0 * * 5#0", "-1 * * * *", "0 0 * * mon#2"]
NAMES = ["a", "A_b1", "context", "class", "with space", "x-y", "", "über", "123", "input", "_x",
         "demo_sales_orders", "Doc_QA"]


def test_cron_rules_agree_with_dagster():
    from dagster._utils.schedules import is_valid_cron_string

    assert [(c, is_valid_cron(c)) for c in CRONS] == [(c, is_valid_cron_string(c)) for c in CRONS]


def test_name_rules_agree_with_dagster():
    from dagster._core.definitions.utils import is_valid_name as dagster_rule

    assert [(n, is_valid_name(n)) for n in NAMES] == [(n, dagster_rule(n)) for n in NAMES]


def test_load_context_state_helpers():
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )
    from dagster._core.definitions.repository_definition import RepositoryLoadData
    from dagster.components.utils.project_paths import get_code_server_metadata_key

    key = "k"
    with DefinitionsLoadContext.scoped(DefinitionsLoadContext(DefinitionsLoadType.INITIALIZATION)):
        assert not compat.code_server_state_unavailable(key)
        compat.keep_code_server_state(key, "STATE")
        pending = DefinitionsLoadContext.get().get_pending_reconstruction_metadata()
        assert pending[get_code_server_metadata_key(key)] == "STATE"
    without = RepositoryLoadData(cacheable_asset_data={}, reconstruction_metadata={})
    with DefinitionsLoadContext.scoped(
            DefinitionsLoadContext(DefinitionsLoadType.RECONSTRUCTION, without)):
        assert compat.code_server_state_unavailable(key)
    with_state = RepositoryLoadData(cacheable_asset_data={}, reconstruction_metadata={
        get_code_server_metadata_key(key): "STATE"})
    with DefinitionsLoadContext.scoped(
            DefinitionsLoadContext(DefinitionsLoadType.RECONSTRUCTION, with_state)):
        assert not compat.code_server_state_unavailable(key)


def test_reconstructing_tells_a_runs_reconstruction_from_an_initialization():
    from dagster._core.definitions.definitions_load_context import (
        DefinitionsLoadContext,
        DefinitionsLoadType,
    )
    from dagster._core.definitions.repository_definition import RepositoryLoadData

    load_data = RepositoryLoadData(cacheable_asset_data={}, reconstruction_metadata={})
    with DefinitionsLoadContext.scoped(
            DefinitionsLoadContext(DefinitionsLoadType.RECONSTRUCTION, load_data)):
        assert compat.reconstructing()
    with DefinitionsLoadContext.scoped(DefinitionsLoadContext(DefinitionsLoadType.INITIALIZATION)):
        assert not compat.reconstructing()


def test_initialized_job_carries_the_locations_load_data(tmp_path, monkeypatch):
    (tmp_path / "compat_location.py").write_text(
        "import dagster as dg\n"
        "from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext\n"
        "@dg.op\ndef one():\n    return 1\n"
        "@dg.job\ndef a_job():\n    one()\n"
        "@dg.definitions\ndef defs():\n"
        "    DefinitionsLoadContext.get().add_to_pending_reconstruction_metadata('x', 'y')\n"
        "    return dg.Definitions(jobs=[a_job])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    job = compat.initialized_job("compat_location", "defs", "a_job", str(tmp_path))
    assert job.get_definition().name == "a_job"
    value = job.repository.repository_load_data.reconstruction_metadata["x"]
    assert getattr(value, "data", value) == "y"


def test_the_one_run_per_stream_limit_names_the_stream_tag():
    from pathlib import Path

    instance = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml").read_text())
    limits = instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert [limit["key"] for limit in limits] == [STREAM_TAG]


def test_multiprocess_step_launch_is_what_tier_gates_wrap():
    import inspect

    from dagster._core.definitions.data_version import (
        CODE_VERSION_TAG,
        DATA_VERSION_IS_USER_PROVIDED_TAG,
        DATA_VERSION_TAG,
    )
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.execution.plan.objects import StepSuccessData
    from dagster._core.execution.plan.outputs import StepOutput, StepOutputData, StepOutputHandle
    from dagster._core.executor import multiprocess

    compat.pass_tagged_steps("llm_assets/compat_test")
    wrapper = multiprocess.execute_step_out_of_process
    compat.pass_tagged_steps("llm_assets/compat_test")  # idempotent: one wrapper
    assert multiprocess.execute_step_out_of_process is wrapper
    assert "llm_assets/compat_test" in wrapper.llm_assets_step_handlers
    launched_with = set(inspect.signature(wrapper.__wrapped__).parameters)
    assert {"step_context", "step"} <= launched_with
    # what the run worker writes for a passed step
    for factory in ("step_start_event", "step_success_event", "asset_materialization",
                    "from_step"):
        assert callable(getattr(DagsterEvent, factory))
    assert {"STEP_OUTPUT"} <= {t.name for t in DagsterEventType}
    assert StepOutputData(StepOutputHandle("gate", "result")).step_output_handle.step_key \
        == "gate"
    assert StepSuccessData(duration_ms=1.0).duration_ms == 1.0
    assert {"dagster_type_key", "properties"} <= set(StepOutput._fields)
    assert (CODE_VERSION_TAG, DATA_VERSION_TAG, DATA_VERSION_IS_USER_PROVIDED_TAG) == (
        "dagster/code_version", "dagster/data_version", "dagster/data_version_is_user_provided")
