"""The notifier: alert records in, chat messages out.

``submit(alert)`` routes the alert to the destinations whose filters it passes, skips those it
was already delivered to (so replays of the ``alerts`` topic never notify twice), and queues it
on each destination's own worker (see ``worker.py``): rate limit -> digest -> format -> deliver
with retries -> delivery log or dead letters.

Guarantee: at-least-once per (alert, destination) when the caller commits an alert's offset
only after its ticket resolves without ``failed``/``abandoned`` (``vitals notifier`` does). A
crash between a platform's 2xx and the delivery-log write can repeat one message; nothing else
is repeated, and nothing is lost silently: every alert ends delivered, in dead letters, or held
back on purpose (acknowledged or snoozed by a CSM, see ``acks.py``; the delivery log says which).

Every alert taken is also recorded in the alert history (``history.py``) for the API, whether it
is routed anywhere or not. History and the ack/snooze lookup are best effort: when Redis cannot
answer them the alert is still delivered (a repeated ping beats a missed one).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from vitals.notifier.acks import Acks, Suppression, suppression
from vitals.notifier.deadletter import DeadLetterSink
from vitals.notifier.delivery import Clock, RetryPolicy, Sleep, install_log_redaction
from vitals.notifier.delivery_log import DeliveryLog, DeliveryState, is_delivered
from vitals.notifier.destinations import Destination, DestinationStore
from vitals.notifier.digest import DigestPolicy
from vitals.notifier.history import History
from vitals.notifier.metrics import AlertMetrics, default_metrics
from vitals.notifier.routing import route
from vitals.notifier.worker import DEAD, DELIVERED, DUPLICATE, DestinationWorker, Job, Ticket
from vitals.platform.settings import default_of

log = logging.getLogger(__name__)

# stop(): how long to let queued alerts finish before abandoning them (to be replayed).
STOP_DEADLINE_S = 10.0
DEFAULT_POLICY = RetryPolicy()
DEFAULT_DIGEST = DigestPolicy()


class _TimedTicket(Ticket):
    """A ticket that reports each destination's first ``delivered`` as it happens."""

    def __init__(
        self,
        future: asyncio.Future[dict[str, str]],
        expected: int,
        on_delivered: Callable[[str], None],
    ) -> None:
        super().__init__(future, expected)
        self._on_delivered = on_delivered

    def finish(self, destination_id: str, outcome: str) -> None:
        if outcome == DELIVERED and destination_id not in self.outcomes:
            self._on_delivered(destination_id)
        super().finish(destination_id, outcome)


class Notifier:
    """Routes alert records to destination workers: ``await start()``, ``submit``, ``stop``."""

    def __init__(
        self,
        destinations: DestinationStore,
        client: httpx.AsyncClient,
        delivery_log: DeliveryLog,
        dead_letters: DeadLetterSink,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        digest: DigestPolicy = DEFAULT_DIGEST,
        clock: Clock = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        metrics: AlertMetrics | None = None,
        refresh_s: float = default_of("notifier_destinations_refresh_s"),
        queue_max: int = default_of("notifier_queue_max"),
        history: History | None = None,
        acks: Acks | None = None,
    ) -> None:
        """``history``: where every alert taken is recorded (None: nowhere). ``acks``: acks and
        snoozes to honour (None: deliver everything). ``refresh_s``: destinations are re-read
        from ``destinations`` at most this long after a change, on the next alert."""
        self._store = destinations
        self._client = client
        self._log = delivery_log
        self._dead = dead_letters
        self._policy = policy
        self._digest = digest
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng
        self._metrics = metrics or default_metrics()
        self._refresh_s = refresh_s
        self._queue_max = queue_max
        self._history = history
        self._acks = acks
        self._destinations: list[Destination] = []
        self._loaded_at: float | None = None
        self._workers: dict[str, DestinationWorker] = {}
        self._running = False
        install_log_redaction()

    @property
    def workers(self) -> Mapping[str, DestinationWorker]:
        return self._workers

    async def start(self) -> None:
        """Load destinations; workers start lazily with each destination's first alert."""
        await self._refresh(force=True)
        self._running = True

    async def _refresh(self, force: bool = False) -> list[Destination]:
        now = self._monotonic()
        if force or self._loaded_at is None or now - self._loaded_at >= self._refresh_s:
            try:
                self._destinations = await self._store.list()
            except Exception:
                if force:
                    raise
                log.warning(
                    "could not reload alert destinations; keeping %d known ones",
                    len(self._destinations),
                    exc_info=True,
                )
            self._loaded_at = now
            for dest in self._destinations:
                if dest.id in self._workers:
                    self._workers[dest.id].update(dest)
        return self._destinations

    def _worker(self, dest: Destination) -> DestinationWorker:
        worker = self._workers.get(dest.id)
        if worker is None:
            worker = DestinationWorker(
                dest,
                client=self._client,
                delivery_log=self._log,
                dead_letters=self._dead,
                metrics=self._metrics,
                policy=self._policy,
                digest=self._digest,
                clock=self._clock,
                monotonic=self._monotonic,
                sleep=self._sleep,
                rng=self._rng,
                suppressed=self._suppression,
            )
            worker.start()
            self._workers[dest.id] = worker
        return worker

    async def submit(self, alert: Mapping[str, Any]) -> asyncio.Future[dict[str, str]]:
        """Queue ``alert`` for its destinations; returns at once.

        The returned future resolves to ``{destination_id: outcome}`` (delivered, dead,
        duplicate, acked, snoozed, failed, abandoned) when every destination is done with it;
        ``{}`` when no destination matched. Raises ``ValueError`` for a record without
        ``alert_id``.
        """
        if not self._running:
            raise RuntimeError("Notifier is not running: await start() first (or it was stopped)")
        alert_id = alert.get("alert_id")
        if not isinstance(alert_id, str) or not alert_id:
            raise ValueError(
                "alert record has no alert_id (see schemas/examples/alert.example.json)"
            )
        await self._record(alert)
        targets = route(alert, await self._refresh())
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        ticket = self._ticket(alert, future, targets)
        if not targets:
            future.set_result({})
        held_back = await self._suppression(alert) if targets else None
        counted = False
        for dest in targets:
            worker = self._workers.get(dest.id)
            if (worker and alert_id in worker.queued_ids()) or await is_delivered(
                self._log, alert_id, dest.id
            ):
                self._metrics.deliveries.labels(dest.kind, DUPLICATE).inc()
                ticket.finish(dest.id, DUPLICATE)
                continue
            if held_back is not None:
                await self._log.put(
                    DeliveryState(
                        alert_id=alert_id,
                        destination_id=dest.id,
                        status=held_back,
                        updated_at=self._clock(),
                    )
                )
                self._metrics.deliveries.labels(dest.kind, held_back).inc()
                if not counted:
                    self._metrics.suppressed.labels(held_back).inc()
                    counted = True
                ticket.finish(dest.id, held_back)
                continue
            worker = self._worker(dest)
            if worker.depth() >= self._queue_max:
                reason = f"queue of {self._queue_max} alerts full: destination down or too slow"
                await self._dead.dead(alert, dest.id, reason)
                self._metrics.deliveries.labels(dest.kind, DEAD).inc()
                self._metrics.dead_letters.labels(dest.kind).inc()
                ticket.finish(dest.id, DEAD)
                continue
            await self._log.put(
                DeliveryState(alert_id=alert_id, destination_id=dest.id, updated_at=self._clock())
            )
            worker.enqueue(Job(alert=alert, enqueued_at=self._monotonic(), ticket=ticket))
        return future

    async def _record(self, alert: Mapping[str, Any]) -> None:
        if self._history is None:
            return
        try:
            await self._history.record(alert)
        except Exception:
            log.warning(
                "could not record alert %s in the history", alert["alert_id"], exc_info=True
            )

    async def _suppression(self, alert: Mapping[str, Any]) -> Suppression | None:
        """``acked``/``snoozed`` when a CSM asked not to send ``alert``; None to deliver it."""
        if self._acks is None:
            return None
        customer_id, rule = alert.get("customer_id"), alert.get("rule")
        try:
            ack = await self._acks.get_ack(str(alert["alert_id"]))
            until = None
            if ack is None and isinstance(customer_id, str) and isinstance(rule, str):
                until = await self._acks.snoozed_until(customer_id, rule)
        except Exception:
            log.warning(
                "could not read acks and snoozes; delivering alert %s anyway",
                alert["alert_id"],
                exc_info=True,
            )
            return None
        return suppression(alert, ack, until)

    def _ticket(
        self,
        alert: Mapping[str, Any],
        future: asyncio.Future[dict[str, str]],
        targets: list[Destination],
    ) -> Ticket:
        predicted = alert.get("predicted_at_ts")
        if not isinstance(predicted, int | float):
            return Ticket(future, expected=len(targets))
        kinds = {d.id: d.kind for d in targets}

        def observe(destination_id: str) -> None:
            # The worker finishes a ticket right after the platform's 2xx: now is delivery time.
            delay = max(0.0, self._clock() - float(predicted))
            self._metrics.crossing_to_delivery.labels(kinds[destination_id]).observe(delay)

        return _TimedTicket(future, len(targets), observe)

    def queue_depth(self) -> int:
        """Alerts waiting or in flight, over all destinations."""
        return sum(w.depth() for w in self._workers.values())

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every queue is empty; False if ``timeout_s`` ran out first."""
        waits = [asyncio.ensure_future(w.idle.wait()) for w in self._workers.values()]
        if not waits:
            return True
        _, not_done = await asyncio.wait(waits, timeout=timeout_s)
        for task in not_done:
            task.cancel()
        return not not_done

    async def stop(self, deadline_s: float = STOP_DEADLINE_S) -> int:
        """Stop taking alerts, let queues drain for up to ``deadline_s``, then cancel the rest.

        Returns how many alerts were abandoned (their tickets say so; they are replayed from
        Kafka after a restart because their offsets were not committed).
        """
        self._running = False
        await self.drain(deadline_s)
        abandoned = 0
        for worker in self._workers.values():
            abandoned += worker.depth()
            if worker.task is not None:
                worker.task.cancel()
        await asyncio.gather(
            *(w.task for w in self._workers.values() if w.task is not None), return_exceptions=True
        )
        for worker in self._workers.values():
            worker.abandon()
        if abandoned:
            log.warning("notifier stopped with %d alert deliveries unfinished", abandoned)
        return abandoned
