"""What a process notebook uses: its parameters, its result, its row counts.

In a notebook:

    from llm_assets import nb                      # first cell

    params = nb.bind({"process": "my_process"})   # the cell tagged `parameters`: defaults
                                                   # for running by hand in Jupyter

    ... work ...
    nb.report(source_row=120, target_row=118)      # materialization metadata + log row counts
    nb.result(df)                                  # value handed to dependent processes
    nb.check("rows_present", passed=len(df) > 0)  # an asset check the notebook declares

When llm_assets runs the notebook (either engine), the `parameters` cell runs as written and
llm_assets' cell follows it, as papermill's injected cell does: `params = nb.bind({...})`
holding the real parameters (see `PARAMETER_KEYS`) and each of them also as a top-level
variable (`nb_parm`, `date_run`, ...: `llm_assets.core.params.NOTEBOOK_VARIABLES`).  Run by
hand, `bind` fills the missing keys with defaults, `result` returns its value and `report`
prints.

A process can also be a plain `.py` script (no kernel: see `llm_assets/script_runner.py`);
it reads its parameters with `params = nb.params({...defaults for a hand run...})`.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

from llm_assets.core.params import DEFAULTS, PARAMETER_KEYS

__all__ = ["PARAMETER_KEYS", "Params", "bind", "check", "collect", "collect_checks", "params",
           "report", "result"]

_state: dict[str, Any] = {"out_dir": None, "params": None}


class Params(dict):
    """The parameter mapping; keys also readable as attributes (`params.process`)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as err:
            raise AttributeError(f"no parameter {key!r}; known: {sorted(self)}") from err


def bind(values: dict[str, Any]) -> Params:
    """Bind the notebook's parameters (defaults for keys not given)."""
    import datetime as _dt

    merged = dict(DEFAULTS)
    merged["data_dt"] = _dt.date.today().isoformat()
    merged.update(values)
    out_dir = merged.pop("_out_dir", None)
    _state["out_dir"] = Path(out_dir) if out_dir else None
    return Params(merged)


def params(defaults: dict[str, Any] | None = None) -> Params:
    """The parameters of a `.py` process: those llm_assets bound for this run, else (a hand
    run, `python notebooks/x.py`) `defaults` bound like `bind` does."""
    if _state["params"] is not None:
        return _state["params"]
    return bind(dict(defaults or {}))


def result(value: Any) -> Any:
    """Hand `value` (DataFrame, dict, list of records, ...) to the dependent processes."""
    out = _state["out_dir"]
    if out is not None:
        tmp = out / "result.pkl.tmp"
        with open(tmp, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, out / "result.pkl")
    return value


def report(source_row: int | None = None, target_row: int | None = None, **metadata: Any):
    """Record row counts (and any other JSON-able values) as materialization metadata.

    `source_row` and `target_row` are what the CNTL_CFG_LOG row records.  Calls merge.
    """
    entries = dict(metadata)
    if source_row is not None:
        entries["source_row"] = int(source_row)
    if target_row is not None:
        entries["target_row"] = int(target_row)
    out = _state["out_dir"]
    if out is None:
        print("llm_assets report:", json.dumps(entries, default=str))  # noqa: T201
        return entries
    path = out / "metadata.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(entries)
    tmp = out / "metadata.json.tmp"
    tmp.write_text(json.dumps(current, default=str))
    os.replace(tmp, path)
    return entries


def check(name: str, passed: bool, *, severity: str = "ERROR", description: str | None = None,
          **metadata: Any) -> dict:
    """Report the outcome of an asset check this notebook declares (in its metadata
    `llm_assets.checks`, or a script's `CHECKS = [...]`); Dagster shows it in the UI.  Values in
    `metadata` are numbers or strings (a threshold, the measured value, ...)."""
    if severity not in ("ERROR", "WARN"):
        raise ValueError(f"check {name!r}: severity {severity!r} must be ERROR or WARN")
    entry = {"passed": bool(passed), "severity": severity, "description": description,
             "metadata": metadata}
    out = _state["out_dir"]
    if out is None:
        print(f"llm_assets check {name}:", json.dumps(entry, default=str))  # noqa: T201
        return entry
    path = out / "checks.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current[name] = entry
    tmp = out / "checks.json.tmp"
    tmp.write_text(json.dumps(current, default=str))
    os.replace(tmp, path)
    return entry


def collect_checks(out_dir: Path) -> dict[str, dict]:
    """The check outcomes a run's `check` calls left in `out_dir` (name -> outcome)."""
    path = Path(out_dir) / "checks.json"
    return json.loads(path.read_text()) if path.exists() else {}


def collect(out_dir: Path) -> tuple[Any, dict]:
    """What a run's `result` and `report` calls left in `out_dir`: (value or None, metadata).
    Used by llm_assets after the notebook or script ran."""
    value = None
    result_file = Path(out_dir) / "result.pkl"
    if result_file.exists():
        with open(result_file, "rb") as handle:
            value = pickle.load(handle)
    meta_file = Path(out_dir) / "metadata.json"
    reported = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    return value, reported
