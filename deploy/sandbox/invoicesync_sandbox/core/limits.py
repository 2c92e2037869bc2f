"""Sliding-window rate limits and N-concurrent gates, keyed by whatever the provider counts by."""

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from invoicesync_sandbox.core.clock import SandboxClock


@dataclass(frozen=True)
class RateLimitRule:
    name: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class Violation:
    rule: RateLimitRule
    retry_after_seconds: int


class RateLimiter:
    """Counts allowed calls per (key, rule) in a sliding window on the sandbox clock."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.enabled = True
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[datetime]] = {}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
        self.enabled = True

    def hit(self, key: str, rules: Sequence[RateLimitRule]) -> Violation | None:
        """Record one call unless a rule is already at its limit; return the first violation."""
        if not self.enabled:
            return None
        now = self.clock.now()
        with self._lock:
            windows = [(rule, self._window(key, rule, now)) for rule in rules]
            for rule, calls in windows:
                if len(calls) >= rule.limit:
                    frees_at = calls[0] + timedelta(seconds=rule.window_seconds)
                    wait = max(1, int((frees_at - now).total_seconds() + 0.999))
                    return Violation(rule, wait)
            for _rule, calls in windows:
                calls.append(now)
        return None

    def remaining(self, key: str, rule: RateLimitRule) -> int:
        with self._lock:
            return max(0, rule.limit - len(self._window(key, rule, self.clock.now())))

    def used(self, key: str, rule: RateLimitRule) -> int:
        with self._lock:
            return len(self._window(key, rule, self.clock.now()))

    def _window(self, key: str, rule: RateLimitRule, now: datetime) -> deque[datetime]:
        calls = self._calls.setdefault((key, rule.name), deque())
        horizon = now - timedelta(seconds=rule.window_seconds)
        while calls and calls[0] <= horizon:
            calls.popleft()
        return calls


class ConcurrencyGate:
    """Admits at most `limit` requests at once per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._active: dict[str, int] = {}

    def enter(self, key: str) -> bool:
        with self._lock:
            if self._active.get(key, 0) >= self.limit:
                return False
            self._active[key] = self._active.get(key, 0) + 1
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            count = self._active.get(key, 0) - 1
            if count > 0:
                self._active[key] = count
            else:
                self._active.pop(key, None)

    def active(self, key: str) -> int:
        with self._lock:
            return self._active.get(key, 0)

    @contextmanager
    def slot(self, key: str) -> Iterator[bool]:
        """Yield whether a slot was taken; release it on exit if it was."""
        entered = self.enter(key)
        try:
            yield entered
        finally:
            if entered:
                self.leave(key)
