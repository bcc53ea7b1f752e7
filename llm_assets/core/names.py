"""Names shared by several layers: Dagster tags, pools, asset and table names.

Each fact lives here once; this module imports nothing.
"""

# ---- control tables (schema cntl_af) ---------------------------------------------------
SCHEMA = "cntl_af"
# snapshot field -> table, in load order; the six configuration tables a snapshot holds
CONTROL_TABLES = {
    "streams": "cntl_cfg_strem",
    "groups": "cntl_cfg_prcs_grp",
    "processes": "cntl_cfg_prcs",
    "sys_files": "cntl_cfg_sys_file",
    "dependencies": "cntl_cfg_prcs_depn",
    "schedules": "cntl_cfg_schedule",
}
LOG_TABLE = "cntl_cfg_log"

# ---- Dagster tags ------------------------------------------------------------------------
PROCESS_TAG = "llm_assets/process"  # op tag: the process an op runs (asset key = op name)
STREAM_TAG = "llm_assets/stream"    # op and job tag: the stream; one run per stream (dagster.yaml)
PRIORITY_TAG = "dagster/priority"
SCHEDULED_TAG = "dagster/scheduled_execution_time"  # set by Dagster on scheduled runs

LLM_POOL = "llm"
"""Dagster concurrency pool of every process with a `gen_model` or `embed_model`.

Its limit is set in the Dagster instance (`dagster instance concurrency set llm <n>` or
`concurrency: pools: default_limit` in dagster.yaml), so concurrent processes queue for the
LLM and embedding backends instead of overloading them."""

# ---- the control-tables status node ----------------------------------------------------
STATUS_ASSET = "llm_assets_control_tables"
STATUS_GROUP = "llm_assets_control"

# ---- result output of every process op -------------------------------------------------
RESULT = "result"

# ---- the control state (llm_assets.defs.control_tables_component) ----------------------
STATE_KEY = "llm_assets_control_tables"   # the component's defs-state key
# the control state handed to a notebook kernel by a Celery step whose job lost its
# reconstruction metadata (dagster-celery builds the step's plan without it)
STATE_FILE_ENV = "LLM_ASSETS_STATE_FILE"

# ---- reconstruction scope (environment of step processes and kernels) -------------------
# the run worker names here the reconstructable job its forkserver builds once
# (llm_assets.defs.step_preload)
STEP_PRELOAD_ENV = "LLM_ASSETS_STEP_PRELOAD"
SCOPE_STREAMS_ENV = "LLM_ASSETS_SCOPE_STREAMS"
SCOPE_PROCESSES_ENV = "LLM_ASSETS_SCOPE_PROCESSES"

# ---- priority-tier gates (llm_assets.core.graph.Barrier) ---------------------------------
BARRIER_TAG = "llm_assets/tier_gate"  # op tag of a tier gate: value = its stream; no process
BARRIER_KIND = "tier_gate"            # the asset kind the UI shows on a gate
