"""Imported only by the forkserver of a run's step processes, as the last of its preload
modules (llm_assets.defs.executor): it builds the run's job definition once, in the
forkserver, so every step process forked from it finds the definition in Dagster's cache
(`ReconstructableJob.get_definition`) instead of rebuilding its run's streams (about 0.5 s per
step for a stream of 500 processes on 2 cores).

This is the one module that works at import: Python's forkserver takes only module names to
preload.  The run worker pickles the reconstructable job its steps receive into a private
file and names it in LLM_ASSETS_STEP_PRELOAD before the forkserver starts; without the
variable the import does nothing.  If the build fails here, each step builds the definition
itself (and reports the error as it would have).
"""

from __future__ import annotations

import logging
import os
import pickle

from llm_assets.core.names import STEP_PRELOAD_ENV

# the job definition built here and the pid of the process that built it (the forkserver):
# a step process forked from it holds both, and Dagster hands it this very object
built = None
built_pid: int | None = None


def prebuild(path: str) -> bool:
    """Build, in this process, the job definition of the reconstructable job pickled at
    `path`; True when it is now in Dagster's cache."""
    global built, built_pid
    try:
        with open(path, "rb") as handle:
            job = pickle.load(handle)
        built, built_pid = job.get_definition(), os.getpid()
    except Exception as err:  # the steps then build it themselves
        logging.getLogger("llm_assets").warning(
            "the step forkserver could not build the run's definitions (%s: %s); each step "
            "builds them itself", type(err).__name__, err)
        return False
    return True


if os.environ.get(STEP_PRELOAD_ENV):
    prebuild(os.environ[STEP_PRELOAD_ENV])
