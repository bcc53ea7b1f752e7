"""The parameters of a process: `nb_parm` parsing and the documented parameter keys.

`nb_parm`: the process's parameter string, as the original framework wrote it (`a|b|c`)
or as a JSON object / array.

Parsed form: `nb_args` (list of strings or JSON values) and `nb_kwargs` (dict).
- `a|b|c`        -> args ["a", "b", "c"], kwargs {}
- `k=v|x`        -> args ["k=v", "x"], kwargs {"k": "v"}  (pipe items holding `=` are also keys)
- `{"k": 1}`     -> args [], kwargs {"k": 1}
- `[1, 2]`       -> args [1, 2], kwargs {}
- empty or NULL  -> args [], kwargs {}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from llm_assets.core.models import ControlSnapshot, Process


class ParameterError(ValueError):
    """nb_parm could not be parsed; the message says where."""


@dataclass(frozen=True)
class ParsedParams:
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)


def parse_nb_parm(raw: str | None) -> ParsedParams:
    text = (raw or "").strip()
    if not text:
        return ParsedParams()
    if text[0] in "{[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ParameterError(
                f"nb_parm looks like JSON but is not valid JSON ({err.msg} at character "
                f"{err.pos}): write a JSON object like {{\"key\": \"value\"}} or a pipe list a|b|c"
            ) from err
        if isinstance(value, dict):
            return ParsedParams(kwargs=value)
        if isinstance(value, list):
            return ParsedParams(args=value)
        raise ParameterError("nb_parm JSON must be an object or an array")
    args = [part.strip() for part in text.split("|")]
    kwargs = {}
    for part in args:
        key, sep, value = part.partition("=")
        if sep and key.strip():
            kwargs[key.strip()] = value.strip()
    return ParsedParams(args=args, kwargs=kwargs)


# ---- the parameters a process receives ----------------------------------------------------
PARAMETER_KEYS = {
    "stream": "stream name (cntl_cfg_strem.strem_nm)",
    "group": "process group (cntl_cfg_prcs_grp.prcs_grp)",
    "process": "process name (cntl_cfg_prcs.prcs_nm)",
    "run_id": "Dagster run id ('manual' when run by hand)",
    "data_dt": "data date, ISO yyyy-mm-dd: the schedule's date, else the run date",
    "nb_parm": "the raw nb_parm string",
    "nb_args": "nb_parm parsed: positional values (pipe items or JSON array)",
    "nb_kwargs": "nb_parm parsed: named values (k=v pipe items or JSON object)",
    "sys_file": "the sys-file row as a dict (sys_nm, file_type, dlm, chunk_size, overlap) or None",
    "embed_model": "embedding model name from the control row",
    "gen_model": "generation model name from the control row",
    "collection": "vector collection name from the control row",
    "question": "the stream's question (RAG streams)",
    "upstream": "names of the processes whose results this notebook receives as variables",
    "profile": "local or compose",
}

DEFAULTS: dict = {
    "stream": "manual", "group": "manual", "process": "manual", "run_id": "manual",
    "data_dt": None, "nb_parm": None, "nb_args": [], "nb_kwargs": {}, "sys_file": None,
    "embed_model": None, "gen_model": None, "collection": None, "question": None,
    "upstream": [], "profile": "local",
}


def data_date(scheduled_time: str | None, fallback: date) -> date:
    """The data date of a run: the date of its schedule tick (Dagster's
    `dagster/scheduled_execution_time` tag) when it has one and it parses, else `fallback`
    (the run's own date)."""
    if scheduled_time:
        try:
            return datetime.fromisoformat(scheduled_time).date()
        except ValueError:
            pass  # a malformed tag: the run's own date
    return fallback


def process_parameters(snapshot: ControlSnapshot, process: Process, *, run_id: str,
                       data_dt: str, upstream: list[str], profile: str) -> dict:
    """The parameters of one process in one run (the keys of PARAMETER_KEYS)."""
    group = snapshot.group_by_name[process.prcs_grp]
    stream = snapshot.stream_by_name[group.strem_nm]
    parsed = parse_nb_parm(process.nb_parm)
    sys_file = snapshot.sys_file_by_name.get(process.sys_file) if process.sys_file else None
    sys_dict = None
    if sys_file is not None:
        sys_dict = {k: v for k, v in asdict(sys_file).items() if k != "upt_dt"}
    return {
        "stream": stream.strem_nm,
        "group": group.prcs_grp,
        "process": process.prcs_nm,
        "run_id": run_id,
        "data_dt": data_dt,
        "nb_parm": process.nb_parm,
        "nb_args": parsed.args,
        "nb_kwargs": parsed.kwargs,
        "sys_file": sys_dict,
        "embed_model": process.embed_model,
        "gen_model": process.gen_model,
        "collection": process.collection,
        "question": stream.question,
        "upstream": upstream,
        "profile": profile,
    }


# ---- the papermill-convention variables ------------------------------------------------------
# Bound as top-level variables after a notebook's `parameters` cell (and in a script's
# globals), the way papermill binds `-p name value`: a notebook written for the original
# framework reads its row's values without edits.  name -> where the value comes from
SYS_FILE_FIELDS = ("file_type", "dlm", "chunk_size", "overlap")
NOTEBOOK_VARIABLES = {
    "nb_parm": "the row's nb_parm string as written (split it on `|` yourself, as before)",
    "date_run": "the data date, yyyy-mm-dd (the original framework's name for data_dt)",
    "data_dt": "the data date, yyyy-mm-dd: the schedule tick's date, else the run's date",
    "embed_model": "cntl_cfg_prcs.embed_model",
    "gen_model": "cntl_cfg_prcs.gen_model",
    "collection": "cntl_cfg_prcs.collection",
    "question": "cntl_cfg_strem.question",
    "stream": "cntl_cfg_strem.strem_nm",
    "group": "cntl_cfg_prcs_grp.prcs_grp",
    "process": "cntl_cfg_prcs.prcs_nm",
    "run_id": "the Dagster run id",
    "file_type": "the process's sys-file row: cntl_cfg_sys_file.file_type",
    "dlm": "the process's sys-file row: cntl_cfg_sys_file.dlm",
    "chunk_size": "the process's sys-file row: cntl_cfg_sys_file.chunk_size",
    "overlap": "the process's sys-file row: cntl_cfg_sys_file.overlap",
}


def notebook_variables(params: Mapping) -> dict:
    """The top-level variables of a process (the keys of NOTEBOOK_VARIABLES, in that order)
    from its parameters (`process_parameters`).

    Where the control row holds NULL (None here), a notebook keeps the default its
    `parameters` cell set, the way papermill leaves a parameter that is not passed; a name
    the notebook did not define is None (llm_assets.runtime.engines renders that rule)."""
    sys_file = params.get("sys_file") or {}
    values = {"date_run": params.get("data_dt"), **sys_file}
    return {name: values[name] if name in values else params.get(name)
            for name in NOTEBOOK_VARIABLES}
