"""Where a process's step runs: its queue and priority, from the control rows (op tags).

- Queue (Dagster op tag `dagster-celery/queue`, read by dagster-celery's executor):
  1. the process's `nb_parm` key `queue` (`queue=gpu_big` in a pipe list, `{"queue": ...}` in
     JSON): one process;
  2. LLM_ASSETS_STREAM_QUEUES (`stream=queue,stream2=queue2`): every process of a stream;
  3. `llm` when the process names a model (`gen_model` or `embed_model`);
  4. otherwise the default queue (`dagster`, dagster-celery's `task_default_queue`).
  `llm-assets worker --queue NAME` serves a queue; a new queue needs a row (or the stream
  setting) and a worker started on it, no code.
- Priority (op tag `dagster-celery/priority`): the process's `prir`, clamped to 0-9.  With
  the Redis broker a lower number is served first, as `prir` means in the control tables;
  dagster-celery adds the run's `dagster-celery/run_priority` tag (default 0).
- Kubernetes (`LLM_ASSETS_EXECUTOR=k8s`): LLM_ASSETS_K8S_QUEUE_CONFIG, a JSON object
  {queue: dagster-k8s/config}, gives the step pods of a queue their node selector,
  tolerations and resources (deploy/helm/values.yaml sets `llm` to the GPU node pool).
"""

from __future__ import annotations

import json
import os

from llm_assets.core.errors import ConfigError
from llm_assets.core.models import ControlSnapshot, Process
from llm_assets.core.naming import is_valid_queue
from llm_assets.core.params import ParameterError, parse_nb_parm

QUEUE_TAG = "dagster-celery/queue"
CELERY_PRIORITY_TAG = "dagster-celery/priority"
K8S_CONFIG_TAG = "dagster-k8s/config"
DEFAULT_QUEUE = "dagster"  # dagster-celery's task_default_queue
LLM_QUEUE = "llm"
QUEUE_KEY = "queue"  # the nb_parm key
STREAM_QUEUES_ENV = "LLM_ASSETS_STREAM_QUEUES"
K8S_QUEUE_CONFIG_ENV = "LLM_ASSETS_K8S_QUEUE_CONFIG"


def queue_name(value: str, where: str) -> str:
    """A queue name as Celery and Redis take it, or a ConfigError naming `where`."""
    if not is_valid_queue(value):
        raise ConfigError(f"{where}: queue {value!r} is not a queue name; use letters, digits, "
                          "'_', '.', '-' (at most 100 characters)")
    return value


def stream_queues() -> dict[str, str]:
    """LLM_ASSETS_STREAM_QUEUES parsed: stream -> queue."""
    raw = os.environ.get(STREAM_QUEUES_ENV, "").strip()
    routes = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        stream, sep, queue = item.partition("=")
        if not sep or not stream.strip():
            raise ConfigError(f"{STREAM_QUEUES_ENV}={raw!r}: write stream=queue pairs separated "
                              "by commas, e.g. doc_qa=docs,promo_reco=llm")
        routes[stream.strip()] = queue_name(queue.strip(), STREAM_QUEUES_ENV)
    return routes


def process_queue(snapshot: ControlSnapshot, process: Process,
                  routes: dict[str, str] | None = None) -> str:
    """The queue of a process's step (see the module docstring for the order)."""
    try:
        own = parse_nb_parm(process.nb_parm).kwargs.get(QUEUE_KEY)
    except ParameterError:
        own = None  # validation reports the nb_parm itself
    if own:
        return queue_name(str(own), f"cntl_cfg_prcs[prcs_nm={process.prcs_nm}].nb_parm")
    stream = snapshot.group_by_name[process.prcs_grp].strem_nm
    routes = stream_queues() if routes is None else routes
    if stream in routes:
        return routes[stream]
    return LLM_QUEUE if (process.gen_model or process.embed_model) else DEFAULT_QUEUE


def celery_priority(process: Process) -> int:
    return max(0, min(9, int(process.prir)))


def k8s_queue_config() -> dict[str, dict]:
    raw = os.environ.get(K8S_QUEUE_CONFIG_ENV, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{K8S_QUEUE_CONFIG_ENV} is not JSON ({err.msg}): write an object "
                          '{"llm": {"pod_spec_config": {"node_selector": {...}}}}') from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{K8S_QUEUE_CONFIG_ENV} must map queue names to dagster-k8s/config "
                          "objects")
    return value


def placement_tags(snapshot: ControlSnapshot, process: Process,
                   routes: dict[str, str] | None = None,
                   k8s: dict[str, dict] | None = None) -> dict[str, str]:
    """The op tags that place a process's step: queue, Celery priority, Kubernetes pod config."""
    queue = process_queue(snapshot, process, routes)
    tags = {QUEUE_TAG: queue, CELERY_PRIORITY_TAG: str(celery_priority(process))}
    if k8s and queue in k8s:
        tags[K8S_CONFIG_TAG] = json.dumps(k8s[queue], sort_keys=True)
    return tags
