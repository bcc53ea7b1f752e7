"""Run a process written as a plain `.py` script, without a notebook kernel.

The cheaper path for processes that need no executed notebook: the script runs inside the
step process with `runpy` (as `__main__`), so there is no kernel to start and no second
import of Dagster and of the definitions.  It sees the same things a notebook sees:

- `params = nb.params({...})`: the documented parameters (`llm_assets.nb.PARAMETER_KEYS`);
  the same call with defaults makes `python notebooks/x.py` work by hand;
- the papermill-convention variables (`nb_parm`, `date_run`, `collection`, ...:
  `llm_assets.core.params.NOTEBOOK_VARIABLES`), bound before the script starts;
- `context`: the Dagster op context (`context.resources.datalake`, `context.log`, ...);
- each upstream process's result as a variable named after that process;
- `nb.result(value)` and `nb.report(source_row=..., target_row=...)`, as in notebooks.

A failure names the script, the line and the exception; Dagster's compute logs keep what the
script printed.
"""

from __future__ import annotations

import runpy
import tempfile
import traceback
from pathlib import Path

import dagster as dg

from llm_assets.core.params import notebook_variables
from llm_assets.runtime import nb


def _failure_line(err: BaseException, source: Path) -> str:
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if Path(f.filename).resolve() == source]
    if not frames:
        return ""
    frame = frames[-1]
    return f" at line {frame.lineno}: {frame.line}" if frame.line else f" at line {frame.lineno}"


def run_script(context, process_name: str, nb_path: str, source: Path, params: dict,
               inputs: dict) -> tuple[object, dict, dict]:
    """Execute `source`; return (result value or None, reported metadata, reported checks)."""
    with tempfile.TemporaryDirectory(prefix=f"llm-assets-{process_name}-") as tmp:
        out_dir = Path(tmp)
        bound = nb.bind(dict(params, _out_dir=str(out_dir)))
        nb._state["params"] = bound
        try:
            runpy.run_path(str(source), run_name="__main__",
                           init_globals={**notebook_variables(bound), "context": context,
                                         "params": bound, **inputs})
        except SystemExit as err:
            if err.code not in (None, 0):
                raise dg.Failure(
                    f"script notebooks/{nb_path} of process {process_name} exited with status "
                    f"{err.code}{_failure_line(err, source)}",
                    metadata={"script": dg.MetadataValue.path(f"notebooks/{nb_path}")},
                ) from None
        except Exception as err:  # the user's code: any error fails the step, with its line
            raise dg.Failure(
                f"script notebooks/{nb_path} of process {process_name} failed"
                f"{_failure_line(err, source)}: {type(err).__name__}: {err}",
                metadata={"script": dg.MetadataValue.path(f"notebooks/{nb_path}"),
                          "error_type": type(err).__name__,
                          "error": dg.MetadataValue.text(
                              "".join(traceback.format_exception(err))[-4000:])},
            ) from None
        finally:
            nb._state.update(params=None, out_dir=None)
        value, reported = nb.collect(out_dir)
        return value, reported, nb.collect_checks(out_dir)
