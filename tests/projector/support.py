"""Score snapshots for projection and API tests, built from the published example."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson

EXAMPLE = json.loads(
    (Path(__file__).parents[2] / "schemas/examples/score-snapshot.example.json").read_text()
)


def make_snapshot(
    cid: str,
    ts: float,
    *,
    risk: float = 30.0,
    mrr: float = 100.0,
    owner: str | None = "dana",
    segment: str | None = "enterprise",
    quadrant: str = "champion",
    band: str = "medium",
    rfm: str = "important_value",
    stage: str = "stable",
    temperature: float = 70.0,
    health: float = 55.0,
) -> tuple[dict[str, Any], bytes]:
    """(snapshot, its exact JSON bytes) — the pair ``ScoreProjection.apply`` takes."""
    snap = copy.deepcopy(EXAMPLE)
    snap.update(customer_id=cid, as_of_ts=ts, mrr=mrr, quadrant=quadrant)
    snap["profile"].update(owner=owner, segment=segment, name=f"Customer {cid}")
    snap["risk"].update(value=risk, band=band)
    snap["temperature"]["value"] = temperature
    snap["health"]["value"] = health
    snap["rfm"]["segment"] = rfm
    snap["lifecycle"]["stage"] = stage
    # Indented so the bytes differ from orjson's: proves the exact bytes are kept, not re-encoded.
    return snap, orjson.dumps(snap, option=orjson.OPT_INDENT_2)
