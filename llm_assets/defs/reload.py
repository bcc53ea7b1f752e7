"""Live reload: when the control tables change, ask the Dagster webserver to reload the code
location (through `dagster-graphql`'s client), so the UI shows the new graph without restarting
any process.  Changes are detected with the rows fingerprint (llm_assets.core.fingerprint).

Settings (read when the definitions are built, never at import):

- LLM_ASSETS_WEBSERVER_URL: GraphQL endpoint of dagster-webserver (`/graphql` is appended when
  missing); default http://127.0.0.1:3000/graphql.
- LLM_ASSETS_RELOAD_INTERVAL: seconds between two evaluations of the reload sensor; default 15.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import dagster as dg

from llm_assets.core import settings
from llm_assets.core.errors import LlmAssetsError, ServiceUnavailable
from llm_assets.core.fingerprint import Fingerprint, snapshot_fingerprint
from llm_assets.core.models import ControlSnapshot
from llm_assets.core.names import STATUS_GROUP
from llm_assets.store.fingerprint import database_fingerprint

LOCATION = "llm_assets"
SENSOR_NAME = "llm_assets_control_reload"
DEFAULT_URL = "http://127.0.0.1:3000/graphql"
DEFAULT_INTERVAL = 15
RELOAD_TIMEOUT = 300  # seconds: a reload re-imports the location and reads the control tables


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


def _client(endpoint: str, timeout: float):
    from dagster_graphql import DagsterGraphQLClient

    parsed = urlparse(endpoint)
    prefix = parsed.path.removesuffix("/graphql")
    return DagsterGraphQLClient(parsed.hostname or "127.0.0.1", port_number=parsed.port,
                                use_https=parsed.scheme == "https", timeout=int(timeout),
                                path_prefix=prefix)


def _unreachable(endpoint: str, err: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"cannot reach the Dagster webserver at {endpoint}: {err}. Is it running "
        "(`make dev`)? Set LLM_ASSETS_WEBSERVER_URL to its address.")


def _location_groups(endpoint: str, location: str) -> list[str]:
    """The group of every asset node of `location`, asked in a request of its own (the
    reload's answer may still describe the old location)."""
    from gql import Client, gql
    from gql.transport.requests import RequestsHTTPTransport

    client = Client(transport=RequestsHTTPTransport(url=endpoint, timeout=60))
    try:
        data = client.execute(gql(LOCATION_ASSETS), variable_values={"name": location})
    except Exception as err:  # noqa: BLE001 - transport errors of any kind: name the server
        raise _unreachable(endpoint, err) from err
    entry = data["workspaceLocationEntryOrError"]
    if entry["__typename"] != "WorkspaceLocationEntry":
        raise LlmAssetsError(f"{endpoint}: code location {location!r}: {entry}")
    loaded = entry["locationOrLoadError"] or {}
    if loaded.get("__typename") != "RepositoryLocation":
        raise LlmAssetsError(f"code location {location!r} failed to load after the reload "
                             f"requested at {endpoint}:\n{loaded.get('message', loaded)}")
    return [n["groupName"] for repo in loaded["repositories"] for n in repo["assetNodes"]]


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
    from dagster_graphql import DagsterGraphQLClientError, ReloadRepositoryLocationStatus

    endpoint = webserver_url(url)
    try:
        info = _client(endpoint, RELOAD_TIMEOUT).reload_repository_location(location)
    except DagsterGraphQLClientError as err:
        raise _unreachable(endpoint, err) from err
    if info.status != ReloadRepositoryLocationStatus.SUCCESS:
        raise LlmAssetsError(f"{endpoint} did not reload code location {location!r}: "
                             f"{info.failure_type}: {info.message}")
    groups = [g for g in _location_groups(endpoint, location) if g != STATUS_GROUP]
    return ReloadOutcome(endpoint, location, len(groups), tuple(sorted(set(groups))))


# ---- the sensor --------------------------------------------------------------------------
def reload_interval() -> int:
    return int(settings.number("LLM_ASSETS_RELOAD_INTERVAL", str(DEFAULT_INTERVAL), whole=True,
                               minimum=1))


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
