"""Where executed notebooks go: the data lake, with an HTML rendering, linked from Dagster.

`runs/<stream>/<process>/<run_id>/<process>.ipynb|.html`, on success and on failure.  If the
data lake refuses the notebook (endpoint down, credentials), it is kept on this machine under
<LLM_ASSETS_HOME>/kept-notebooks/ and the error is reported, never lost.

The link, `executed_notebook` in the materialization's and the failure's metadata, opens the
notebook's cells in one click for as long as the run's files are kept:

- local profile: Dagster's notebook viewer, the webserver's `/notebook?path=...` route, as a
  link relative to the UI (so it opens on whatever host and port the UI is served).  The
  webserver has the code location read the file, which must lie under the location's working
  directory (the project root in workspace.yaml; the default LLM_ASSETS_HOME, ./.llm_assets,
  does).  `dg.MetadataValue.notebook` would name the same file, but the UI shows it as a
  plain path in materialization and failure events;
- S3 data lake (compose profile): the HTML rendering, through the data lake's `link()`: a
  stable link served by `llm-assets datalake serve-links` (LLM_ASSETS_LINKS_URL), else a
  presigned URL on LLM_ASSETS_S3_PUBLIC_ENDPOINT.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import dagster as dg

from llm_assets.core import settings
from llm_assets.core.errors import LlmAssetsError

LOCATION = "llm_assets"  # the code location's name in workspace.yaml
DEFAULT_WEBSERVER = "http://127.0.0.1:3000"


def run_key_prefix(stream: str, process: str, run_id: str) -> str:
    return f"runs/{stream}/{process}/{run_id}"


def html(ipynb: bytes, run_id: str | None = None) -> bytes:
    from llm_assets.runtime.html_render import render

    return render(ipynb, run_id)


STORE_ERROR = "_store_error"
REFERENCE = "_reference"  # the text a failure message and the log row name the notebook by


def keep_locally(prefix: str, process: str, data: bytes) -> Path:
    """Where an executed notebook goes when the data lake cannot take it."""
    kept = settings.home_dir() / "kept-notebooks" / prefix / f"{process}.ipynb"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(data)
    return kept


def viewer_path(path: Path) -> str:
    """Dagster's notebook viewer for the file `path`, relative to the UI's address."""
    return f"/notebook?path={quote(str(path), safe='/')}&repoLocName={LOCATION}"


def viewer_url(path: Path) -> str:
    """The same on the webserver of LLM_ASSETS_WEBSERVER_URL (`make dev` sets it), for
    messages read outside the UI (the log table, a terminal)."""
    base = (os.environ.get("LLM_ASSETS_WEBSERVER_URL") or DEFAULT_WEBSERVER).rstrip("/")
    return base.removesuffix("/graphql") + viewer_path(path)


def notebook_links(datalake, nb_key: str, html_key: str | None) -> dict:
    """The metadata linking a stored notebook, plus its REFERENCE text."""
    from llm_assets.backends.datalake import LocalDataLake

    if isinstance(datalake, LocalDataLake):
        path = datalake.path(nb_key)
        return {"executed_notebook": dg.MetadataValue.url(viewer_path(path)),
                REFERENCE: f"{path.as_uri()}\nIn the Dagster UI: {viewer_url(path)}"}
    links = {"executed_notebook_ipynb": dg.MetadataValue.url(datalake.link(nb_key))}
    shown = datalake.link(html_key) if html_key else links["executed_notebook_ipynb"].value
    return {"executed_notebook": dg.MetadataValue.url(shown), **links, REFERENCE: shown}


def _warn_if_unviewable(context, datalake, nb_key: str) -> None:
    from llm_assets.backends.datalake import LocalDataLake

    project = settings.project_dir()
    if isinstance(datalake, LocalDataLake) and not datalake.path(nb_key).is_relative_to(project):
        context.log.warning(
            f"the executed notebook {datalake.path(nb_key)} lies outside the project "
            f"{project}: Dagster's notebook viewer opens only files under the code location's "
            "working directory (workspace.yaml), so its link in the UI will not open. Keep "
            "LLM_ASSETS_HOME under the project (the default ./.llm_assets) or set the "
            "location's working_directory to a directory containing both")


def store_notebook(context, datalake, prefix: str, process: str, executed: Path | None) -> dict:
    """Store executed notebook + HTML; return metadata links (empty if nothing was executed),
    and under REFERENCE the text naming the notebook in a message (pop it before use).

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
                REFERENCE: kept.resolve().as_uri(),
                STORE_ERROR: f"{err} The executed notebook is kept at {kept}"}
    _warn_if_unviewable(context, datalake, nb_key)
    try:
        datalake.put_bytes(html_key, html(data, context.run.run_id))
    except Exception as err:  # noqa: BLE001 - rendering is best effort; the .ipynb is kept
        context.log.warning(f"could not render {nb_key} as HTML: {err}")
        return notebook_links(datalake, nb_key, None)
    return notebook_links(datalake, nb_key, html_key)
