"""What the writer flow needs from its stores, as protocols: Redis backs them in the services
(`IdMap`, `HeldPayments`), in-memory versions back the flow's unit tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from invoicesync.domain.canonical import CanonicalPayment
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.stores.id_map import MappedId


class TenantSettingsSource(Protocol):
    def settings(self, tenant_id: str) -> TenantSettings: ...


class IdMapping(Protocol):
    """Keap id → ledger id (`invoicesync.stores.id_map.IdMap`)."""

    def get(
        self, tenant_id: str, destination: str, object_type: str, keap_id: str
    ) -> MappedId | None: ...

    def put(
        self, tenant_id: str, destination: str, object_type: str, keap_id: str, mapped: MappedId
    ) -> None: ...

    def put_many(
        self, tenant_id: str, destination: str, object_type: str, mappings: Mapping[str, MappedId]
    ) -> None: ...


class PaymentsOnHold(Protocol):
    """Payments waiting for their invoice (`invoicesync.writing.held_payments.HeldPayments`)."""

    def hold(
        self, destination: str, payment: CanonicalPayment, recheck_at: datetime, reason: str
    ) -> None: ...

    def release(self, tenant_id: str, destination: str, keap_payment_id: str) -> None: ...

    def tenants(self, destination: str) -> list[str]: ...

    def due(self, tenant_id: str, destination: str, now: datetime) -> list[CanonicalPayment]: ...
