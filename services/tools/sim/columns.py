"""Columnar event rows: the simulator's compact in-memory form of an event stream.

A million events as Python dicts cost ~0.5 GB; as parallel numpy columns they cost ~40 MB, and the
dicts are built only while the stream is read (``EventTable.iter_dicts``). Event times are whole
Unix seconds, which is also the resolution of the RFC 3339 strings we emit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

TYPES: tuple[str, ...] = ("usage", "purchase", "subscription", "support", "feedback", "profile")
TYPE_CODE = {name: code for code, name in enumerate(TYPES)}

# Feature names of the simulated SaaS product, most popular first (their popularity falls off like
# a power law: a few features carry most of the usage, as in real products).
FEATURES: tuple[str, ...] = (
    "dashboard.viewed",
    "record.created",
    "record.updated",
    "search.performed",
    "report.created",
    "report.exported",
    "comment.added",
    "file.uploaded",
    "integration.synced",
    "alert.configured",
    "api.called",
    "user.invited",
)
OTHER_NAMES: tuple[str, ...] = (
    "started",
    "renewed",
    "upgraded",
    "downgraded",
    "cancelled",
    "payment_failed",
    "cancellation_requested",
    "ticket_opened",
    "ticket_escalated",
    "ticket_closed",
    "nps",
    "csat",
)
# Index 0 means "no name" (purchase and profile events).
NAMES: tuple[str | None, ...] = (None, *FEATURES, *OTHER_NAMES)
NAME_CODE = {name: code for code, name in enumerate(NAMES) if name is not None}
FEATURE_BASE = 1  # NAMES[FEATURE_BASE + i] == FEATURES[i]

CURRENCY = "USD"
# Rows are turned into dicts in slices of this size, bounding the transient Python objects.
EMIT_CHUNK = 65_536
SECONDS_PER_DAY = 86_400


@dataclass
class CustomerRows:
    """Events of one customer being built: scalar events in lists, usage in numpy chunks."""

    ts: list[int] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    name: list[int] = field(default_factory=list)
    user: list[int] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    props: list[int] = field(default_factory=list)
    usage: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(
        self,
        ts: float,
        kind: str,
        name: str | None = None,
        *,
        user: int = -1,
        amount: float = math.nan,
        score: float = math.nan,
        props: int = -1,
    ) -> None:
        self.ts.append(int(ts))
        self.kind.append(TYPE_CODE[kind])
        self.name.append(0 if name is None else NAME_CODE[name])
        self.user.append(user)
        self.amount.append(amount)
        self.score.append(score)
        self.props.append(props)

    def add_usage(self, ts: np.ndarray, feature: np.ndarray, user: np.ndarray) -> None:
        """Usage events: times (Unix s), feature indexes into FEATURES, user indexes."""
        self.usage.append((ts, feature, user))

    def columns(self) -> dict[str, np.ndarray]:
        """All rows, sorted by event time (ties keep insertion order)."""
        ts = [np.asarray(self.ts, dtype=np.int64)]
        kind = [np.asarray(self.kind, dtype=np.int8)]
        name = [np.asarray(self.name, dtype=np.int16)]
        user = [np.asarray(self.user, dtype=np.int32)]
        amount = [np.asarray(self.amount, dtype=np.float64)]
        score = [np.asarray(self.score, dtype=np.float64)]
        props = [np.asarray(self.props, dtype=np.int32)]
        for u_ts, u_feature, u_user in self.usage:
            n = len(u_ts)
            ts.append(u_ts.astype(np.int64))
            kind.append(np.zeros(n, dtype=np.int8))
            name.append((u_feature + FEATURE_BASE).astype(np.int16))
            user.append(u_user.astype(np.int32))
            amount.append(np.full(n, np.nan))
            score.append(np.full(n, np.nan))
            props.append(np.full(n, -1, dtype=np.int32))
        cols: dict[str, np.ndarray] = {
            "ts": np.concatenate(ts),
            "kind": np.concatenate(kind),
            "name": np.concatenate(name),
            "user": np.concatenate(user),
            "amount": np.concatenate(amount),
            "score": np.concatenate(score),
            "props": np.concatenate(props),
        }
        order = np.argsort(cols["ts"], kind="stable")
        return {key: value[order] for key, value in cols.items()}


class TimestampFormatter:
    """Whole Unix seconds -> ``YYYY-MM-DDTHH:MM:SSZ``, caching the date part per day (fast)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, ts: int) -> str:
        day, rest = divmod(ts, SECONDS_PER_DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * SECONDS_PER_DAY, UTC).strftime("%Y-%m-%d")
            self._days[day] = prefix
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{prefix}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"


@dataclass
class EventTable:
    """A whole stream as columns, in arrival order.

    ``ts`` is the event time; ``seq`` numbers a customer's events in event-time order and, with the
    id prefix and customer id, makes the event_id (a resent duplicate repeats its original's seq).
    """

    customer_ids: list[str]
    properties: list[dict[str, Any]]
    id_prefix: str
    ts: np.ndarray
    cust: np.ndarray
    seq: np.ndarray
    kind: np.ndarray
    name: np.ndarray
    user: np.ndarray
    amount: np.ndarray
    score: np.ndarray
    props: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def iter_dicts(
        self, until_ts: float | None = None, since_ts: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Contract dicts in arrival order; optionally only since < event time <= until."""
        mask = np.ones(len(self.ts), dtype=bool)
        if until_ts is not None:
            mask &= self.ts <= until_ts
        if since_ts is not None:
            mask &= self.ts > since_ts
        index = np.flatnonzero(mask)
        fmt = TimestampFormatter()
        cids, props, prefix = self.customer_ids, self.properties, self.id_prefix
        for lo in range(0, len(index), EMIT_CHUNK):
            part = index[lo : lo + EMIT_CHUNK]
            rows = zip(
                self.ts[part].tolist(),
                self.cust[part].tolist(),
                self.seq[part].tolist(),
                self.kind[part].tolist(),
                self.name[part].tolist(),
                self.user[part].tolist(),
                self.amount[part].tolist(),
                self.score[part].tolist(),
                self.props[part].tolist(),
                strict=True,
            )
            for ts, cust, seq, kind, name, user, amount, score, prop in rows:
                cid = cids[cust]
                event: dict[str, Any] = {
                    "event_id": f"{prefix}-{cid}-{seq}",
                    "customer_id": cid,
                    "type": TYPES[kind],
                    "timestamp": fmt(ts),
                }
                if name:
                    event["name"] = NAMES[name]
                if user >= 0:
                    event["user_id"] = f"{cid}.u{user}"
                if amount == amount:  # not NaN
                    event["amount"] = amount
                    event["currency"] = CURRENCY
                if score == score:
                    event["score"] = score
                if prop >= 0:
                    event["properties"] = dict(props[prop])
                yield event
