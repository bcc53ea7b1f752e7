"""Stamp (benchmarks): records when its first line of code ran, as a script process."""

import time

from llm_assets import nb

STARTED = time.time()
params = nb.params({"process": "stamp"})
nb.report(code_started=STARTED)
