"""Outages of Redis or Kafka that Keap's deliveries met, and their end.

Keap retries a failed delivery three times and then marks the subscription Inactive
(reference/keap.md §2.6), so once an outage is over the poller re-verifies every tenant's hook
subscriptions at once and polls Keap from the tenant's poll cursor (which stands no later than
the last change a poll published, so the poll covers everything since the last hook that got
through and all Keap dropped), instead of waiting for its next hour.
The hook receiver notices an outage on a delivery, watches for its end in a thread of its own
and records the recovery here; the poller notices outages of its own the same way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from invoicesync.stores.redis_connection import reply_text

log = logging.getLogger(__name__)

RECOVERIES_KEY = "invoicesync:ingest:outage-recoveries"
KEPT_RECOVERIES = 100
WATCH_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class Recovery:
    """An outage that is over: when it was first seen and when it ended."""

    started: datetime
    recovered: datetime


class OutageRecoveries:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def record(self, recovery: Recovery) -> None:
        entry = {
            "started": recovery.started.isoformat(),
            "recovered": recovery.recovered.isoformat(),
        }
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(RECOVERIES_KEY, json.dumps(entry))
        pipe.ltrim(RECOVERIES_KEY, -KEPT_RECOVERIES, -1)
        pipe.execute()

    def pending(self) -> list[Recovery]:
        """Recoveries not yet acted on, oldest first."""
        return [
            Recovery(
                datetime.fromisoformat(data["started"]), datetime.fromisoformat(data["recovered"])
            )
            for data in (
                json.loads(reply_text(raw)) for raw in self._redis.lrange(RECOVERIES_KEY, 0, -1)
            )
        ]

    def acted_on(self, count: int) -> None:
        """The oldest `count` recoveries are done with (newer ones may have come meanwhile)."""
        self._redis.ltrim(RECOVERIES_KEY, count, -1)


class OutageWatch:
    """Notices an outage and, in a thread of its own, waits for every probe to answer again,
    then records the recovery. Safe to call from any thread; one watcher at a time."""

    def __init__(
        self,
        recoveries: OutageRecoveries,
        probes: tuple[Callable[[], object], ...],
        *,
        interval_seconds: float = WATCH_INTERVAL_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._recoveries = recoveries
        self._probes = probes
        self._interval = interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._started: datetime | None = None
        self._stop = threading.Event()

    @property
    def outage_since(self) -> datetime | None:
        return self._started

    def noticed(self, error: BaseException) -> None:
        with self._lock:
            if self._started is not None:
                return
            self._started = self._clock()
        log.warning("outage noticed, watching for its end", extra={"error": repr(error)})
        threading.Thread(target=self._watch, name="outage-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                for probe in self._probes:
                    probe()
                started = self._started or self._clock()
                self._recoveries.record(Recovery(started, self._clock()))
            except Exception as exc:  # noqa: BLE001 - still down: look again shortly
                log.debug("outage goes on", extra={"error": repr(exc)})
                continue
            with self._lock:
                self._started = None
            log.info("outage over; recovery recorded for the poller", extra={"since": started})
            return
