"""Live reload: when the control tables change, ask the Dagster webserver to reload the code
location, so the UI shows the new graph without restarting any process.

The change detector is a *rows fingerprint*: for each of the six configuration tables, the row
count and the md5 of its rows (every column except `upt_dt`, NULL written as `\\N`, columns
joined by chr(31), rows sorted byte-wise and joined by newlines).  Postgres computes it in one
query (`database_fingerprint`); the same text is rebuilt in Python from the snapshot the
definitions were built from (`snapshot_fingerprint`), so the two compare directly and the
code location never runs an extra query at load time.

It changes on an insert, a delete and an update of any column that shapes the definitions
(`prir`, `act_f`, dependencies, notebook path, parameters, models, cron fields, ...), inactive
rows included.  `upt_dt` is left out on purpose: re-running an upsert seed touches it without
changing anything, and that must not reload the location.

Settings (read when the definitions are built, never at import):

- LLM_ASSETS_WEBSERVER_URL: GraphQL endpoint of dagster-webserver (`/graphql` is appended when
  missing); default http://127.0.0.1:3000/graphql.
- LLM_ASSETS_RELOAD_INTERVAL: seconds between two evaluations of the reload sensor; default 15.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field, fields

import dagster as dg

from llm_assets.control.models import ROW_TYPES, ControlSnapshot
from llm_assets.errors import ConfigError, LlmAssetsError, ServiceUnavailable

LOCATION = "llm_assets"
SENSOR_NAME = "llm_assets_control_reload"
DEFAULT_URL = "http://127.0.0.1:3000/graphql"
DEFAULT_INTERVAL = 15
RELOAD_TIMEOUT = 300  # seconds: a reload re-imports the location and reads the control tables

TABLES = {
    "streams": "cntl_cfg_strem",
    "groups": "cntl_cfg_prcs_grp",
    "processes": "cntl_cfg_prcs",
    "sys_files": "cntl_cfg_sys_file",
    "dependencies": "cntl_cfg_prcs_depn",
    "schedules": "cntl_cfg_schedule",
}
NULL = "\\N"
COLUMN_SEP = chr(31)
ROW_SEP = "\n"


def _columns(name: str) -> list[str]:
    return [f.name for f in fields(ROW_TYPES[name]) if f.name != "upt_dt"]


# ---- fingerprint -------------------------------------------------------------------------
@dataclass(frozen=True)
class Fingerprint:
    value: str
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, parts: dict[str, tuple[int, str]]) -> Fingerprint:
        text = "|".join(f"{name}:{count}:{digest}" for name, (count, digest) in parts.items())
        return cls(hashlib.sha256(text.encode()).hexdigest()[:12],
                   {name: count for name, (count, _) in parts.items()})


def fingerprint_sql() -> str:
    """One SELECT returning `count:md5` for each table, in TABLES order."""
    selects = []
    for name, table in TABLES.items():
        row = ", ".join(f"coalesce({c}::text, '{NULL}')" for c in _columns(name))
        selects.append(
            f"(SELECT count(*) || ':' || md5(coalesce(string_agg(r, chr({ord(ROW_SEP)})"
            f' ORDER BY r COLLATE "C"), \'\'))'
            f" FROM (SELECT concat_ws(chr({ord(COLUMN_SEP)}), {row}) AS r"
            f" FROM cntl_af.{table}) AS t) AS {name}"
        )
    return "SELECT " + ",\n       ".join(selects)


def database_fingerprint(url: str | None = None) -> Fingerprint:
    """The rows fingerprint of the control tables as they are now (one query)."""
    from llm_assets import db

    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute(fingerprint_sql())
        values = cur.fetchone()
    parts = {}
    for name, value in zip(TABLES, values, strict=True):
        count, _, digest = value.partition(":")
        parts[name] = (int(count), digest)
    return Fingerprint.of(parts)


def snapshot_fingerprint(snapshot: ControlSnapshot) -> Fingerprint:
    """The rows fingerprint of a snapshot: equal to `database_fingerprint` of the same rows."""
    parts = {}
    for name in TABLES:
        columns = _columns(name)
        rows = sorted(
            COLUMN_SEP.join(NULL if v is None else str(v)
                            for v in (getattr(row, c) for c in columns))
            for row in getattr(snapshot, name)
        )
        parts[name] = (len(rows), hashlib.md5(ROW_SEP.join(rows).encode()).hexdigest())
    return Fingerprint.of(parts)


# ---- the webserver's GraphQL API ---------------------------------------------------------
RELOAD_MUTATION = """
mutation LlmAssetsReload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry {
      locationOrLoadError { __typename ... on PythonError { message } }
    }
    ... on ReloadNotSupported { message }
    ... on RepositoryLocationNotFound { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

# asked in a request of its own: the mutation's answer may still describe the old location
LOCATION_ASSETS = """
query LlmAssetsLocation($name: String!) {
  workspaceLocationEntryOrError(name: $name) {
    __typename
    ... on WorkspaceLocationEntry {
      locationOrLoadError {
        __typename
        ... on RepositoryLocation { repositories { assetNodes { groupName } } }
        ... on PythonError { message }
      }
    }
    ... on PythonError { message }
  }
}
"""


def webserver_url(url: str | None = None) -> str:
    value = (url or os.environ.get("LLM_ASSETS_WEBSERVER_URL") or DEFAULT_URL).rstrip("/")
    return value if value.endswith("/graphql") else value + "/graphql"


def graphql(query: str, variables: dict | None = None, *, url: str | None = None,
            timeout: float = 60) -> dict:
    """POST one GraphQL request to dagster-webserver; return `data` or raise a clear error."""
    endpoint = webserver_url(url)
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(endpoint, data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:500]
        raise ServiceUnavailable(
            f"the Dagster webserver at {endpoint} answered HTTP {err.code}: {detail}"
        ) from err
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise ServiceUnavailable(
            f"cannot reach the Dagster webserver at {endpoint}: {reason}. Is it running "
            "(`make dev`)? Set LLM_ASSETS_WEBSERVER_URL to its address."
        ) from err
    except json.JSONDecodeError as err:
        raise ServiceUnavailable(
            f"{endpoint} did not answer JSON: is it the GraphQL endpoint of dagster-webserver?"
        ) from err
    if payload.get("errors"):
        messages = "; ".join(e.get("message", str(e)) for e in payload["errors"])
        raise LlmAssetsError(f"GraphQL error from {endpoint}: {messages}")
    return payload["data"]


@dataclass(frozen=True)
class ReloadOutcome:
    url: str
    location: str
    assets: int  # process assets (the control-tables status node is not counted)
    groups: tuple[str, ...]

    def summary(self) -> str:
        return (f"reloaded code location {self.location} at {self.url}: {self.assets} process "
                f"asset(s) in group(s) {', '.join(self.groups) or 'none'}")


def reload_location(url: str | None = None, location: str = LOCATION) -> ReloadOutcome:
    """Ask dagster-webserver to reload `location` (its code server re-reads the tables)."""
    from llm_assets.factory.build import STATUS_GROUP

    endpoint = webserver_url(url)
    data = graphql(RELOAD_MUTATION, {"name": location}, url=endpoint, timeout=RELOAD_TIMEOUT)
    result = data["reloadRepositoryLocation"]
    kind = result["__typename"]
    if kind != "WorkspaceLocationEntry":
        raise LlmAssetsError(f"{endpoint} did not reload code location {location!r}: "
                             f"{kind}: {result.get('message', '')}".rstrip(": "))
    _check_loaded(result["locationOrLoadError"], location, endpoint)
    entry = graphql(LOCATION_ASSETS, {"name": location}, url=endpoint)
    entry = entry["workspaceLocationEntryOrError"]
    if entry["__typename"] != "WorkspaceLocationEntry":
        raise LlmAssetsError(f"{endpoint}: code location {location!r}: {entry}")
    loaded = _check_loaded(entry["locationOrLoadError"], location, endpoint)
    nodes = [n for repo in loaded["repositories"] for n in repo["assetNodes"]]
    processes = [n for n in nodes if n["groupName"] != STATUS_GROUP]
    groups = tuple(sorted({n["groupName"] for n in processes}))
    return ReloadOutcome(endpoint, location, len(processes), groups)


def _check_loaded(loaded: dict | None, location: str, endpoint: str) -> dict:
    loaded = loaded or {}
    if loaded.get("__typename") != "RepositoryLocation":
        raise LlmAssetsError(f"code location {location!r} failed to load after the reload "
                             f"requested at {endpoint}:\n{loaded.get('message', loaded)}")
    return loaded


# ---- the sensor --------------------------------------------------------------------------
def reload_interval() -> int:
    raw = os.environ.get("LLM_ASSETS_RELOAD_INTERVAL", str(DEFAULT_INTERVAL))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"LLM_ASSETS_RELOAD_INTERVAL={raw!r} must be a positive number of "
                          "seconds")
    return value


def reload_sensors(snapshot: ControlSnapshot) -> list[dg.SensorDefinition]:
    """The sensor that reloads the code location when the tables differ from `snapshot`."""
    loaded: dict[str, Fingerprint] = {}  # computed on the first tick, not at load time

    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=reload_interval(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Compares a fingerprint of the control tables (one query) with the snapshot this "
            "code location was built from; when they differ, asks the webserver "
            "(LLM_ASSETS_WEBSERVER_URL) to reload the location, so the asset graph follows "
            "the rows without a restart."
        ),
    )
    def control_tables_reload(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        if "fp" not in loaded:
            loaded["fp"] = snapshot_fingerprint(snapshot)
        before = loaded["fp"].value
        now = database_fingerprint()
        if now.value == before:
            return dg.SkipReason(f"control tables unchanged (fingerprint {before})")
        context.log.info("control tables changed: %s -> %s; reloading", before, now.value)
        outcome = reload_location()
        return dg.SkipReason(
            f"control tables changed (fingerprint {before} -> {now.value}); {outcome.summary()}"
        )

    return [control_tables_reload]
