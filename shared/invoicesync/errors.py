"""The two kinds of failure the consumer loop and HTTP layer tell apart."""

from __future__ import annotations


class InvalidInput(Exception):
    """Permanent: retrying cannot help (bad data, a rule the provider enforces). Dead-letter/4xx."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Transient(Exception):
    """Retryable: timeouts, 5xx, broker or Redis unavailable."""


class RateLimited(Transient):
    """The provider asked us to wait; `retry_after` seconds, scoped to one tenant."""

    def __init__(self, message: str, *, retry_after: float, tenant_id: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.tenant_id = tenant_id


class Disconnected(InvalidInput):
    """A provider connection is gone (refresh token dead): nothing to retry until reconnect."""
