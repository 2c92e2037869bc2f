"""When each invoice was written to its ledger, as the writers report it on sync.results: a
benchmark watches the topic instead of polling every ledger (which would load the stand-ins it
measures)."""

from __future__ import annotations

import threading
import time

from kafka import KafkaConsumer

from invoicesync.events import EventType, SyncAction, Topic, envelope_from_bytes, payload_of
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.topics import topic_name
from invoicesync.settings import Settings


class WrittenInvoices(threading.Thread):
    """`written[(tenant id, Keap invoice id)]`: the perf_counter time of its first "created"
    result; `failed`: how many failure results came. Start it before the work begins."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self._consumer = KafkaConsumer(
            topic_name(Topic.SYNC_RESULTS, settings),
            **kafka_connection(settings),
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        self.written: dict[tuple[str, str], float] = {}
        self.failed = 0
        self._finish = threading.Event()
        self._lock = threading.Lock()

    def wait_assigned(self) -> None:
        """Until the consumer has its partitions (and so reads everything from now on)."""
        while not self._consumer.assignment():
            self._consumer.poll(timeout_ms=100)

    def run(self) -> None:
        while not self._finish.is_set():
            for records in self._consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for record in records:
                    self._note(record.value, now)
        self._consumer.close()

    def _note(self, raw: bytes, now: float) -> None:
        envelope = envelope_from_bytes(raw)
        if envelope.type is not EventType.SYNC_RESULT_RECORDED:
            return
        result = payload_of(envelope)
        if result.object_type != "invoice":
            return
        with self._lock:
            if result.action is SyncAction.FAILED:
                self.failed += 1
            elif result.action is SyncAction.CREATED:
                self.written.setdefault((envelope.tenant_id, result.keap_id), now)

    def count(self) -> int:
        with self._lock:
            return len(self.written)

    def times(self) -> dict[tuple[str, str], float]:
        with self._lock:
            return dict(self.written)

    def stop(self) -> None:
        self._finish.set()
        self.join(timeout=10)
