"""The control-tables status node: an always-visible asset in the UI stating which rows the
definitions were built from, and what was excluded and why."""

from __future__ import annotations

import dagster as dg

from llm_assets.core.fingerprint import snapshot_fingerprint
from llm_assets.core.names import STATUS_ASSET, STATUS_GROUP
from llm_assets.core.state import ControlState


def status_spec(state: ControlState) -> dg.AssetSpec:
    snapshot = state.snapshot
    fingerprint = snapshot_fingerprint(snapshot).value
    lines = [f"Control tables fingerprint `{fingerprint}`, read at {snapshot.loaded_at}."]
    if state.excluded:
        lines.append("")
        lines.append("**Excluded streams** (fix the rows, then reload the code location):")
        for stream, reasons in state.excluded.items():
            lines.append(f"- **{stream}**")
            lines.extend(f"  - {reason}" for reason in reasons)
    if state.unattributed:
        lines.append("")
        lines.append("**Rows ignored:**")
        lines.extend(f"- {p}" for p in state.unattributed)
    if not state.problem_count:
        lines.append("No problems found.")
    return dg.AssetSpec(
        key=STATUS_ASSET,
        group_name=STATUS_GROUP,
        description="\n".join(lines),
        metadata={
            "fingerprint": fingerprint,
            "loaded_at": snapshot.loaded_at or "",
            "problems": state.problem_count,
            "excluded_streams": ", ".join(state.excluded) or "none",
        },
        tags={"llm_assets/status": "problems" if state.problem_count else "ok"},
    )


def empty_status_spec(reason: str) -> dg.AssetSpec:
    """The status node when no state has been written yet."""
    return dg.AssetSpec(key=STATUS_ASSET, group_name=STATUS_GROUP, description=reason,
                        tags={"llm_assets/status": "problems"})
