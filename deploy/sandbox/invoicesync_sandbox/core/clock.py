"""A movable clock: real time plus an offset that tests and the control surface can advance."""

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Wall-clock time shifted by an adjustable offset; always timezone-aware UTC."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset.total_seconds()
