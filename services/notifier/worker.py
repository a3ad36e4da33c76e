"""One destination's queue and worker task: rate limit, digest, format, deliver, record.

Each destination has its own worker, so a destination that is slow or down only delays its own
alerts: the others keep their own pace.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from vitals.notifier.deadletter import DeadLetterSink
from vitals.notifier.delivery import Attempt, Clock, RetryPolicy, Sleep, deliver
from vitals.notifier.delivery_log import DeliveryLog, DeliveryState
from vitals.notifier.destinations import Destination
from vitals.notifier.digest import DigestPolicy, take_batch
from vitals.notifier.formats import FORMATTERS
from vitals.notifier.metrics import AlertMetrics
from vitals.notifier.ratelimit import TokenBucket

log = logging.getLogger(__name__)

# Outcome of one alert for one destination, as reported to whoever submitted it.
DELIVERED, DEAD, DUPLICATE, FAILED, ABANDONED = (
    "delivered",
    "dead",
    "duplicate",
    "failed",
    "abandoned",
)


class Ticket:
    """Completion of one submitted alert across its destinations.

    ``future`` resolves to ``{destination_id: outcome}`` once every destination is finished.
    ``failed`` (the delivery log or dead-letter sink broke) and ``abandoned`` (stopped before
    delivery) mean the alert was not safely handled: do not commit its offset.
    """

    def __init__(self, future: asyncio.Future[dict[str, str]], expected: int) -> None:
        self.future = future
        self.outcomes: dict[str, str] = {}
        self._expected = expected

    def finish(self, destination_id: str, outcome: str) -> None:
        self.outcomes[destination_id] = outcome
        if len(self.outcomes) >= self._expected and not self.future.done():
            self.future.set_result(dict(self.outcomes))


@dataclass
class Job:
    alert: Mapping[str, Any]
    enqueued_at: float  # monotonic seconds
    ticket: Ticket
    outcome: str = field(default=FAILED)

    @property
    def alert_id(self) -> str:
        return str(self.alert["alert_id"])


class DestinationWorker:
    def __init__(
        self,
        dest: Destination,
        *,
        client: httpx.AsyncClient,
        delivery_log: DeliveryLog,
        dead_letters: DeadLetterSink,
        metrics: AlertMetrics,
        policy: RetryPolicy,
        digest: DigestPolicy,
        clock: Clock,
        monotonic: Callable[[], float],
        sleep: Sleep,
        rng: Callable[[], float],
        suppressed: Callable[[Mapping[str, Any]], Awaitable[str | None]] | None = None,
    ) -> None:
        """``suppressed(alert)``: "acked"/"snoozed" when a CSM asked, since it was queued, not to
        send it; checked again just before sending (an alert queued behind a rate limit or a slow
        destination can be acknowledged while it waits)."""
        self._suppressed = suppressed
        self.destination = dest
        self.pending: deque[Job] = deque()
        self.in_flight: list[Job] = []
        self._client = client
        self._log = delivery_log
        self._dead = dead_letters
        self._metrics = metrics
        self._policy = policy
        self._digest = digest
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._bucket = TokenBucket(dest.rate, dest.burst, monotonic=monotonic, sleep=sleep)
        self._wakeup = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None

    def update(self, dest: Destination) -> None:
        """Take a changed configuration (URL, rate) for the next messages."""
        self.destination = dest
        self._bucket.configure(dest.rate, dest.burst)

    def queued_ids(self) -> set[str]:
        return {j.alert_id for j in (*self.pending, *self.in_flight)}

    def depth(self) -> int:
        return len(self.pending) + len(self.in_flight)

    def enqueue(self, job: Job) -> None:
        self.pending.append(job)
        self.idle.clear()
        self._wakeup.set()
        self._metrics.queue_depth.labels(self.destination.id).set(self.depth())

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"alerts-worker-{self.destination.id}")

    def abandon(self) -> None:
        """Finish every undelivered job (after stop's deadline); their offsets stay uncommitted."""
        for job in (*self.in_flight, *self.pending):
            job.ticket.finish(self.destination.id, ABANDONED)
        self.pending.clear()
        self.in_flight = []

    async def _run(self) -> None:
        while True:
            while not self.pending:
                self.idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
            # Take the token first: alerts arriving while we wait for it can join a digest.
            await self._bucket.acquire()
            can_digest = FORMATTERS[self.destination.kind].render_digest is not None
            self.in_flight = take_batch(self.pending, self._digest, can_digest=can_digest)
            try:
                to_send = await self._still_wanted(self.in_flight)
                if to_send:
                    await self._send(to_send)
            except Exception:
                # A bug or a broken store must not kill the worker: report and move on.
                log.exception("alerts worker %s failed on a message", self.destination.id)
            finally:
                for job in self.in_flight:
                    job.ticket.finish(self.destination.id, job.outcome)
                self.in_flight = []
                self._metrics.queue_depth.labels(self.destination.id).set(self.depth())

    async def _still_wanted(self, batch: list[Job]) -> list[Job]:
        """The jobs not acknowledged or snoozed while they waited; the others are logged as such."""
        if self._suppressed is None:
            return batch
        kept: list[Job] = []
        for job in batch:
            reason = await self._suppressed(job.alert)
            if reason is None:
                kept.append(job)
                continue
            job.outcome = reason
            await self._log.put(
                DeliveryState(
                    alert_id=job.alert_id,
                    destination_id=self.destination.id,
                    status=reason,  # type: ignore[arg-type]
                    updated_at=self._clock(),
                )
            )
            self._metrics.deliveries.labels(self.destination.kind, reason).inc()
        return kept

    async def _send(self, batch: list[Job]) -> None:
        dest = self.destination
        formatter = FORMATTERS[dest.kind]
        alerts = [job.alert for job in batch]
        try:
            if len(batch) == 1:
                payload, msg_id = formatter.render(alerts[0]), batch[0].alert_id
            else:
                assert formatter.render_digest is not None
                payload = formatter.render_digest(alerts)
                ids = ",".join(j.alert_id for j in batch)
                msg_id = "digest-" + hashlib.sha256(ids.encode()).hexdigest()[:16]
        except Exception as err:
            await self._give_up(batch, f"could not format the alert: {type(err).__name__}: {err}")
            return

        states = {
            job.alert_id: DeliveryState(alert_id=job.alert_id, destination_id=dest.id)
            for job in batch
        }
        digest_size = len(batch) if len(batch) > 1 else None

        async def on_attempt(attempt: Attempt) -> None:
            result = (
                "ok"
                if attempt.error is None
                else ("retryable" if attempt.retryable else "permanent")
            )
            self._metrics.attempts.labels(dest.kind, result).inc()
            if attempt.wait_s is None:
                return  # the final state is written below
            for state in states.values():
                state.status, state.attempts = "retrying", attempt.number
                state.last_status, state.last_error = attempt.status_code, attempt.error
                state.updated_at, state.digest_size = self._clock(), digest_size
                await self._log.put(state)

        result = await deliver(
            self._client,
            dest,
            payload,
            msg_id,
            policy=self._policy,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
            on_attempt=on_attempt,
        )
        if not result.delivered:
            await self._give_up(
                batch,
                result.error or "unknown error",
                attempts=result.attempts,
                status_code=result.status_code,
            )
            return
        if digest_size:
            self._metrics.digests.labels(dest.kind).inc()
        for job in batch:
            state = states[job.alert_id]
            state.status, state.attempts, state.last_status = (
                "delivered",
                result.attempts,
                result.status_code,
            )
            state.delivered_at = state.updated_at = result.finished_at
            state.digest_size = digest_size
            await self._log.put(state)
            self._metrics.deliveries.labels(dest.kind, DELIVERED).inc()
            raised = job.alert.get("raised_at_ts")
            if isinstance(raised, int | float):
                self._metrics.latency.labels(dest.kind).observe(
                    max(0.0, result.finished_at - raised)
                )
            job.outcome = DELIVERED
        log.info(
            "delivered %d alert(s) to %s (%s) in %d attempt(s)",
            len(batch),
            dest.id,
            dest.masked_url,
            result.attempts,
        )

    async def _give_up(
        self, batch: list[Job], reason: str, *, attempts: int = 0, status_code: int | None = None
    ) -> None:
        dest = self.destination
        log.warning(
            "alerts %s to %s: dead letter: %s", ",".join(j.alert_id for j in batch), dest.id, reason
        )
        for job in batch:
            state = DeliveryState(
                alert_id=job.alert_id,
                destination_id=dest.id,
                status="dead",
                attempts=attempts,
                last_status=status_code,
                last_error=reason,
                updated_at=self._clock(),
            )
            await self._log.put(state)
            await self._dead.dead(job.alert, dest.id, reason)
            self._metrics.deliveries.labels(dest.kind, DEAD).inc()
            self._metrics.dead_letters.labels(dest.kind).inc()
            job.outcome = DEAD
