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


class UnknownTenant(InvalidInput, KeyError):
    """A message names a tenant we do not have (deleted, or Redis lost its record). Every
    consumer lets it reach the loop, which dead-letters the message: replayable once the
    tenant is back, and visible to an operator if it never comes back. A KeyError too, so
    code that treats a missing tenant as a missing key keeps working."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"unknown tenant {tenant_id}", field="tenant_id")
        self.tenant_id = tenant_id

    def __str__(self) -> str:
        return f"unknown tenant {self.tenant_id}"
