"""The notification knobs, read from `INVOICESYNC_NOTIFY_<FIELD>` with their defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from invoicesync.settings import SettingsError


@dataclass(frozen=True)
class NotificationOptions:
    # Exceptions-only mode: the first exception opens a window; one email when it closes.
    window_seconds: float = 300.0
    tick_seconds: float = 5.0
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    # The sender's lease; renewed between tenants, so it must outlast one SMTP exchange.
    lease_seconds: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotificationOptions:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}  # each read as its field's type
        for spec in fields(cls):
            raw = environ.get(f"INVOICESYNC_NOTIFY_{spec.name.upper()}")
            if raw is None:
                continue
            kind = int if spec.type in ("int", int) else float
            try:
                values[spec.name] = kind(raw)
            except ValueError as exc:
                raise SettingsError(f"{spec.name}: cannot read {raw!r}") from exc
        return cls(**values)

    def retry_delay(self, failures: int) -> float:
        """Exponential backoff after `failures` failed deliveries in a row, capped."""
        return min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(failures - 1, 0))
