"""A run's reconstruction of the code location (run worker, step processes, kernels) builds
only the control-tables component: the same jobs, assets and resources as the code location,
without the description of every installed component type the whole-project load adds for
`dg` and the UI (llm_assets/definitions.py)."""

from __future__ import annotations

import pytest

from tests.support.pg import prepare
from tests.support.project import ROOT

pytestmark = pytest.mark.integration


def test_a_runs_reconstruction_builds_the_locations_definitions_without_the_plugin_json(
        pg_url, tmp_path, monkeypatch):
    from dagster._core.definitions.reconstruct import (
        ReconstructableRepository,
        initialize_repository_def_from_pointer,
    )
    from dagster.components.core.load_defs import PLUGIN_COMPONENT_TYPES_JSON_METADATA_KEY

    prepare(pg_url, "tests/fixtures/tiers.sql")
    monkeypatch.setenv("LLM_ASSETS_DATABASE_URL", pg_url)
    monkeypatch.setenv("LLM_ASSETS_HOME", str(tmp_path))
    repo = ReconstructableRepository.for_module("llm_assets.definitions", "defs",
                                                working_directory=str(ROOT))
    location = initialize_repository_def_from_pointer(repo.pointer)  # as a code server does
    run = repo.with_repository_load_data(location.repository_load_data).get_definition()

    assert PLUGIN_COMPONENT_TYPES_JSON_METADATA_KEY in location.metadata
    assert PLUGIN_COMPONENT_TYPES_JSON_METADATA_KEY not in run.metadata
    assert "tiers" in {job.name for job in location.get_all_jobs()}
    assert {job.name for job in run.get_all_jobs()} == {
        job.name for job in location.get_all_jobs()}
    assert set(run.asset_graph.get_all_asset_keys()) == set(
        location.asset_graph.get_all_asset_keys())
    assert set(run.get_top_level_resources()) == set(location.get_top_level_resources())
    assert {s.name for s in run.schedule_defs} == {s.name for s in location.schedule_defs}
    assert {s.name for s in run.sensor_defs} == {s.name for s in location.sensor_defs}
