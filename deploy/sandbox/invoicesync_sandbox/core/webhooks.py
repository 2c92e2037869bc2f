"""Outbound webhook delivery from background threads: delay, retries, drop/duplicate faults."""

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from invoicesync_sandbox.core.clock import SandboxClock
from invoicesync_sandbox.core.faults import FaultSettings


@dataclass(frozen=True)
class DeliveryOutcome:
    """How one `deliver` call ended, after all attempts (or at the drop)."""

    url: str
    delivered: bool
    last_status: int | None
    attempts: int
    dropped: bool
    slow: bool
    last_body_size: int = 0  # bytes in the subscriber's last reply


class WebhookDispatcher:
    """Sends webhook bodies from background threads and records every attempt."""

    def __init__(
        self,
        faults: FaultSettings,
        clock: SandboxClock,
        *,
        timeout_seconds: float = 30.0,
        retry_backoff_seconds: tuple[float, ...] = (0.5, 1.0, 2.0),
    ) -> None:
        self.faults = faults
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self.retry_backoff_seconds = retry_backoff_seconds
        self.deliveries: list[dict] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._release = threading.Event()

    def deliver(
        self,
        url: str,
        body: bytes,
        headers: dict,
        *,
        retries: int = 3,
        on_complete: Callable[[DeliveryOutcome], None] | None = None,
        stop_statuses: frozenset[int] = frozenset(),
        delay_seconds: float | None = None,
    ) -> None:
        """Queue one delivery; `stop_statuses` end retrying at once (e.g. Keap's 410).

        `delay_seconds` overrides `faults.webhook_delay_seconds` for callers that batch first.
        """
        delay = self.faults.webhook_delay_seconds if delay_seconds is None else delay_seconds

        def send() -> None:
            outcome = self._send_all(url, body, dict(headers), retries, stop_statuses)
            if on_complete is not None:
                on_complete(outcome)

        self.later(send, delay)

    def later(self, action: Callable[[], None], delay_seconds: float) -> None:
        """Run `action` on a thread of its own after the delay (or at `release_pending`);
        `flush` waits for it as for a delivery."""
        with self._lock:
            self._pending += 1
        worker = threading.Thread(
            target=self._run, args=(action, self._release, delay_seconds), daemon=True
        )
        worker.start()

    def release_pending(self) -> None:
        """Send every delivery still waiting out its delay now."""
        with self._lock:
            release, self._release = self._release, threading.Event()
        release.set()

    def flush(self, timeout: float) -> bool:
        """Wait until no delivery is in flight; True when everything finished in time."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def reset(self) -> None:
        self.release_pending()
        with self._lock:
            self.deliveries.clear()

    def _run(self, action: Callable[[], None], release: threading.Event, delay: float) -> None:
        try:
            if delay > 0:
                release.wait(delay)
            action()
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _send_all(self, url, body, headers, retries, stop_statuses) -> DeliveryOutcome:
        if self.faults.chance(self.faults.webhook_drop_rate):
            self._record(url, None, 0, dropped=True)
            return DeliveryOutcome(url, False, None, 0, dropped=True, slow=False)
        duplicate = self.faults.chance(self.faults.webhook_duplicate_rate)
        status, slow, attempt, size = None, False, 0, 0
        for attempt in range(1, retries + 2):
            status, attempt_slow, size = self._send_once(url, body, headers, attempt)
            slow = slow or attempt_slow
            if (status is not None and 200 <= status < 300) or status in stop_statuses:
                break
            if attempt <= retries:
                time.sleep(self._backoff(attempt))
        delivered = status is not None and 200 <= status < 300
        if delivered and duplicate:
            self._send_once(url, body, headers, attempt, duplicated=True)
        return DeliveryOutcome(
            url, delivered, status, attempt, dropped=False, slow=slow, last_body_size=size
        )

    def _send_once(
        self, url, body, headers, attempt, duplicated=False
    ) -> tuple[int | None, bool, int]:
        started = time.monotonic()
        status, error, size = None, None, 0
        try:
            status, size = self._post(url, body, headers)
        except TimeoutError:
            error = "timeout"
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
        elapsed = time.monotonic() - started
        if status is not None and elapsed > self.timeout_seconds:
            # An answer after the sender's deadline is no answer: the sender gave up waiting.
            status, error = None, "timeout"
        slow = error == "timeout" or elapsed > self.timeout_seconds
        self._record(url, status, attempt, duplicated=duplicated, error=error, elapsed=elapsed)
        return status, slow, size

    def _post(self, url: str, body: bytes, headers: dict) -> tuple[int, int]:
        """The subscriber's status and reply size. A connection per delivery, closed after it:
        a kept-alive one the subscriber has just timed out would fail a delivery for no fault
        of the subscriber. http.client, not requests: the stand-in shares the machine with
        what it sends to, and requests' own work per call was most of a delivery's cost."""
        target = urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(target.netloc, timeout=self.timeout_seconds)
        try:
            path = target.path or "/"
            if target.query:
                path += "?" + target.query
            connection.request("POST", path, body, {**headers, "Connection": "close"})
            response = connection.getresponse()
            return response.status, len(response.read())
        finally:
            connection.close()

    def _backoff(self, attempt: int) -> float:
        steps = self.retry_backoff_seconds
        return steps[min(attempt, len(steps)) - 1] if steps else 0.0

    def _record(
        self, url, status, attempt, *, dropped=False, duplicated=False, error=None, elapsed=0.0
    ) -> None:
        entry = {
            "url": url,
            "status": status,
            "attempt": attempt,
            "dropped": dropped,
            "duplicated": duplicated,
            "error": error,
            "elapsed_seconds": round(elapsed, 3),
            "time": self.clock.now().isoformat(),
        }
        with self._lock:
            self.deliveries.append(entry)
