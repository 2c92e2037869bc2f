"""A run handler with per-run state gets one instance per worker thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from invoicesync.events import Envelope, EventType
from invoicesync.kafka.tenant_workers import handler_per_thread


def test_each_thread_gets_its_own_handler_and_keeps_it():
    made: list[int] = []
    lock = threading.Lock()
    all_started = threading.Barrier(3)

    def make_handler():
        with lock:
            made.append(len(made))
            number = made[-1]

        def handle(envelopes):
            return [(number, threading.get_ident())]

        return handle

    handle = handler_per_thread(make_handler)
    envelope = Envelope(type=EventType.SYNC_RESULT_RECORDED, tenant_id="t", payload={})

    def on_a_thread(_: int):
        all_started.wait(timeout=30)  # three threads at once, so three handlers
        return handle([envelope])[0], handle([envelope])[0]

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(on_a_thread, range(3)))

    assert sorted(made) == [0, 1, 2]
    for first, second in results:
        assert first == second, "a thread's second call got another handler"
    assert len({number for (number, _), _ in results}) == 3
