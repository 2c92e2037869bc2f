"""The writer flow's stores in memory (the protocols of `invoicesync.writing.flow_stores`):
the id map, the held payments and the tenants' settings."""

from __future__ import annotations

from datetime import datetime

from invoicesync.domain.canonical import CanonicalPayment
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.stores.id_map import MappedId


class InMemoryIdMap:
    def __init__(self) -> None:
        self.mappings: dict[tuple[str, str, str, str], MappedId] = {}

    def get(
        self, tenant_id: str, destination: str, object_type: str, keap_id: str
    ) -> MappedId | None:
        return self.mappings.get((tenant_id, destination, object_type, keap_id))

    def put(
        self, tenant_id: str, destination: str, object_type: str, keap_id: str, mapped: MappedId
    ) -> None:
        self.mappings[(tenant_id, destination, object_type, keap_id)] = mapped

    def put_many(
        self, tenant_id: str, destination: str, object_type: str, mappings: dict[str, MappedId]
    ) -> None:
        for keap_id, mapped in mappings.items():
            self.put(tenant_id, destination, object_type, keap_id, mapped)

    def lose_everything(self) -> None:
        """What a Redis loss does before the ledger topic restores it."""
        self.mappings.clear()


class InMemoryHeldPayments:
    def __init__(self) -> None:
        # (tenant, destination) → Keap payment id → (payment, recheck at, reason)
        self.held: dict[tuple[str, str], dict[str, tuple[CanonicalPayment, datetime, str]]] = {}

    def hold(
        self, destination: str, payment: CanonicalPayment, recheck_at: datetime, reason: str
    ) -> None:
        tenant = self.held.setdefault((payment.tenant_id, destination), {})
        tenant[payment.keap_payment_id] = (payment, recheck_at, reason)

    def release(self, tenant_id: str, destination: str, keap_payment_id: str) -> None:
        tenant = self.held.get((tenant_id, destination), {})
        tenant.pop(keap_payment_id, None)
        if not tenant:
            self.held.pop((tenant_id, destination), None)

    def tenants(self, destination: str) -> list[str]:
        return sorted(tenant for tenant, held_for in self.held if held_for == destination)

    def due(self, tenant_id: str, destination: str, now: datetime) -> list[CanonicalPayment]:
        held = sorted(self.held.get((tenant_id, destination), {}).values(), key=lambda h: h[1])
        return [payment for payment, recheck_at, _ in held if recheck_at <= now]

    def reasons(self, tenant_id: str, destination: str) -> dict[str, str]:
        return {
            keap_id: reason
            for keap_id, (_, _, reason) in self.held.get((tenant_id, destination), {}).items()
        }


class TenantSettingsByTenant:
    def __init__(self, settings: dict[str, TenantSettings]) -> None:
        self._settings = settings

    def settings(self, tenant_id: str) -> TenantSettings:
        return self._settings[tenant_id]
