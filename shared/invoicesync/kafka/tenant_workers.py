"""Tenants of one poll handled at once: each tenant's first run handed to a worker thread, so
handlers that wait on a provider overlap, while the consumer loop still takes every run's
answer in order on its own thread (retries, pauses, publishing and commits stay there)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from kafka import TopicPartition

from invoicesync.events import Envelope
from invoicesync.kafka.pending_messages import PendingMessage
from invoicesync.kafka.publisher import Outgoing

log = logging.getLogger(__name__)

RunHandler = Callable[[Sequence[Envelope]], Sequence[Outgoing]]
RunKey = tuple[TopicPartition, str]  # a partition and a tenant on it


@dataclass(frozen=True)
class HandlerCall:
    """What a handler returned for a run, and how long it took."""

    outgoing: Sequence[Outgoing]
    seconds: float


def timed_call(handler: RunHandler, chunk: Sequence[PendingMessage]) -> HandlerCall:
    started = time.perf_counter()
    outgoing = handler([item.envelope for item in chunk])
    return HandlerCall(outgoing, time.perf_counter() - started)


def handler_per_thread(make_handler: Callable[[], RunHandler]) -> RunHandler:
    """A run handler that keeps state between the steps of a run, made once per thread that
    calls it, so workers never share one."""
    local = threading.local()

    def handle_run(envelopes: Sequence[Envelope]) -> Sequence[Outgoing]:
        handler = getattr(local, "handler", None)
        if handler is None:
            handler = local.handler = make_handler()
        return handler(envelopes)

    return handle_run


@dataclass
class _Started:
    chunk: Sequence[PendingMessage]
    call: Future[HandlerCall]


class TenantWorkers:
    def __init__(self, count: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(count, thread_name_prefix=name)
        self._started: dict[RunKey, _Started] = {}

    def start(self, handler: RunHandler, firsts: dict[RunKey, list[PendingMessage]]) -> None:
        """Hand each run to a worker; nothing to gain from one alone."""
        if len(firsts) < 2:
            return
        for key, chunk in firsts.items():
            self._started[key] = _Started(chunk, self._pool.submit(timed_call, handler, chunk))

    def answer(self, key: RunKey, chunk: Sequence[PendingMessage]) -> HandlerCall | None:
        """The worker's answer for this chunk (raising what the handler raised), or None when
        none was started for it."""
        started = self._started.pop(key, None)
        if started is None:
            return None
        if [id(item) for item in started.chunk] == [id(item) for item in chunk]:
            return started.call.result()
        _await_quietly(started.call)  # another chunk: its effects are idempotent, redone
        return None

    def drop(self) -> None:
        """Calls an iteration did not get to take (it failed first): waited for, so none is
        still running when the loop rewinds, and forgotten; their messages come again."""
        started, self._started = self._started, {}
        for item in started.values():
            _await_quietly(item.call)

    def close(self) -> None:
        self.drop()
        self._pool.shutdown(wait=True)


def _await_quietly(call: Future) -> None:
    try:
        call.result()
    except Exception as exc:  # noqa: BLE001 - an answer no one will take
        log.debug("a handler call no one took failed", extra={"error": repr(exc)})
