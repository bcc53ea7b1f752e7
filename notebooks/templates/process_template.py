"""Template of a script process: a `.py` file run without a notebook kernel.

Point `cntl_cfg_prcs.nb_path_nm` at a copy of this file (relative to notebooks/).  llm_assets
runs it inside the step process, so it starts in milliseconds instead of the seconds a
kernel takes; choose a notebook instead when you want the executed notebook kept as a report.

Run it by hand with `python notebooks/templates/process_template.py`: `nb.params` then
binds the defaults below.
"""

from llm_assets import nb

# the run's parameters (llm_assets.nb.PARAMETER_KEYS); the dict is only for hand runs
params = nb.params({"process": "my_process", "nb_kwargs": {}})

# Under llm_assets: `context` is the Dagster op context (context.resources.datalake, ...),
# and each upstream process's result is a variable named after it (see params.upstream).
upstream = {name: globals().get(name) for name in params.upstream}

result = {"process": params.process, "data_dt": params.data_dt, "inputs": sorted(upstream)}

nb.report(source_row=len(upstream), target_row=1)  # metadata + the log row's row counts
nb.result(result)  # the value handed to dependent processes
