# syntax=docker/dockerfile:1
# The llm_assets image of the compose profile: one image for the Dagster gRPC code server (default
# command), dagster-webserver, dagster-daemon and the one-shot init jobs of docker-compose.yml.
# Models are served by the Ollama container, so the `local-models` extra (torch, llama-cpp) is
# deliberately not installed.
FROM python:3.11-slim

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    LLM_ASSETS_PROJECT_DIR=/opt/llm_assets \
    LLM_ASSETS_HOME=/opt/dagster/llm_assets_home

# The non-root runtime user and the only directories it writes: Dagster's home (local artifact
# and compute-log storage) and the llm_assets state directory.  dagster.yaml is the project's.
RUN groupadd --system --gid 10001 llm_assets \
    && useradd --system --uid 10001 --gid llm_assets --create-home --home-dir /home/llm_assets \
        --shell /usr/sbin/nologin llm_assets \
    && mkdir -p "$DAGSTER_HOME/storage" "$LLM_ASSETS_HOME" \
    && ln -s /opt/llm_assets/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && chown -R llm_assets:llm_assets /opt/dagster

WORKDIR /opt/llm_assets

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes.  The list is
# read from [project].dependencies so it is written in one place.  The dagstermill kernel
# (notebooks name `python3`) is registered here too.
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); open('/tmp/requirements.txt', 'w').write('\n'.join(d['project']['dependencies']) + '\n')" \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (llm_assets)"

# The project: package source, notebooks, SQL migrations and seeds, Dagster configuration.
# Owned by root, read-only for the runtime user.
COPY llm_assets ./llm_assets
COPY llm_assets_demo ./llm_assets_demo
COPY notebooks ./notebooks
COPY sql ./sql
COPY deploy/dagster.yaml ./dagster.yaml
COPY workspace.yaml workspace.compose.yaml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps -e . \
    && python -c "import llm_assets" \
    && jupyter kernelspec list | grep -q python3

# Numeric, so that runtimes enforcing runAsNonRoot can verify it (uid/gid of llm_assets).
USER 10001:10001

# 4000: gRPC code server (default command); 3000: dagster-webserver when run with that command.
EXPOSE 4000 3000

# No HEALTHCHECK here: the image plays several roles (code server, webserver, daemon, one-shot
# jobs), so each service's health check lives with it in docker-compose.yml.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "llm_assets.definitions"]
