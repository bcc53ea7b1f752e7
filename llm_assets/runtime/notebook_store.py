"""Where executed notebooks go: the data lake, with an HTML rendering, linked from Dagster.

`runs/<stream>/<process>/<run_id>/<process>.ipynb|.html`, on success and on failure.  If the
data lake refuses the notebook (endpoint down, credentials), it is kept on this machine under
<LLM_ASSETS_HOME>/kept-notebooks/ and the error is reported, never lost.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from llm_assets.core import settings
from llm_assets.core.errors import LlmAssetsError


def run_key_prefix(stream: str, process: str, run_id: str) -> str:
    return f"runs/{stream}/{process}/{run_id}"


def html(ipynb: bytes, run_id: str | None = None) -> bytes:
    from llm_assets.runtime.html_render import render

    return render(ipynb, run_id)


STORE_ERROR = "_store_error"


def keep_locally(prefix: str, process: str, data: bytes) -> Path:
    """Where an executed notebook goes when the data lake cannot take it."""
    kept = settings.home_dir() / "kept-notebooks" / prefix / f"{process}.ipynb"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(data)
    return kept


def store_notebook(context, datalake, prefix: str, process: str, executed: Path | None) -> dict:
    """Store executed notebook + HTML; return metadata links (empty if nothing was executed).

    If the data lake refuses the notebook (endpoint down, credentials), the notebook is kept on
    this machine under <LLM_ASSETS_HOME>/kept-notebooks/ and the error is returned under
    `STORE_ERROR` for the caller to report."""
    if executed is None or not executed.exists():
        return {}
    data = executed.read_bytes()
    nb_key = f"{prefix}/{process}.ipynb"
    html_key = f"{prefix}/{process}.html"
    try:
        datalake.put_bytes(nb_key, data)
    except (LlmAssetsError, OSError) as err:
        kept = keep_locally(prefix, process, data)
        context.log.warning(f"{err}\nThe executed notebook is kept at {kept}")
        return {"executed_notebook": dg.MetadataValue.path(str(kept)),
                STORE_ERROR: f"{err} The executed notebook is kept at {kept}"}
    try:
        datalake.put_bytes(html_key, html(data, context.run.run_id))
    except Exception as err:  # noqa: BLE001 - rendering is best effort; the .ipynb is kept
        context.log.warning(f"could not render {nb_key} as HTML: {err}")
        return {"executed_notebook": dg.MetadataValue.url(datalake.url(nb_key))}
    return {
        "executed_notebook": dg.MetadataValue.url(datalake.url(nb_key)),
        "executed_notebook_html": dg.MetadataValue.url(datalake.url(html_key)),
    }


