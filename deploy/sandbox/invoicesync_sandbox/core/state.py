"""The in-memory state of one provider stand-in: clock, tokens, limits, faults, hooks, call log."""

import threading
from collections import Counter, deque
from collections.abc import Callable

from flask import Response, jsonify

from invoicesync_sandbox.core.clock import SandboxClock
from invoicesync_sandbox.core.faults import FaultSettings
from invoicesync_sandbox.core.limits import RateLimiter
from invoicesync_sandbox.core.tokens import TokenAuthority
from invoicesync_sandbox.core.webhooks import WebhookDispatcher

HIDDEN_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-keap-api-key"})


class SandboxState:
    """Base state; each provider subclasses it and implements `issue_token` and `error_response`."""

    request_id_header = "X-Request-Id"

    def __init__(
        self,
        name: str,
        *,
        access_ttl: int,
        refresh_ttl: int,
        single_use_refresh: bool,
        reuse_grace_seconds: int | None,
        code_ttl: int = 300,
        request_log_size: int = 1000,
        on_reset: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.clock = SandboxClock()
        self.tokens = TokenAuthority(
            self.clock,
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
            single_use_refresh=single_use_refresh,
            reuse_grace_seconds=reuse_grace_seconds,
            code_ttl=code_ttl,
        )
        self.limiter = RateLimiter(self.clock)
        self.faults = FaultSettings()
        self.webhooks = WebhookDispatcher(self.faults, self.clock)
        self.counters: Counter[str] = Counter()
        self.request_log: deque[dict] = deque(maxlen=request_log_size)
        self.on_reset = on_reset
        self.lock = threading.RLock()

    def reset(self) -> None:
        """Forget everything: data (via `on_reset`), tokens, limits, faults, clock, logs."""
        with self.lock:
            self.webhooks.reset()
            self.clock.reset()
            self.tokens.reset()
            self.limiter.reset()
            self.faults.reset()
            self.counters.clear()
            self.request_log.clear()
            if self.on_reset is not None:
                self.on_reset()

    def issue_token(self, payload: dict) -> dict:
        """Control surface: mint a token pair for the app described by `payload`."""
        raise NotImplementedError(f"{self.name} sandbox does not issue tokens directly")

    def error_response(self, status: int, message: str) -> Response:
        """The provider's own error body for `status`; providers override this."""
        response = jsonify({"error": message, "status": status})
        response.status_code = status
        return response

    def record_request(self, entry: dict) -> None:
        with self.lock:
            self.request_log.append(entry)

    def count(self, key: str) -> None:
        with self.lock:
            self.counters[key] += 1
