"""Payments the destination cannot take yet (its invoice is not approved), kept until it can."""

from __future__ import annotations

import json
from datetime import datetime

import redis

from invoicesync.domain.canonical import CanonicalPayment
from invoicesync.events import CanonicalPaymentSchema
from invoicesync.stores.redis_connection import reply_text


def _key(tenant_id: str, destination: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:held-payments:{destination}"


def _tenants_key(destination: str) -> str:
    return f"invoicesync:held-payments:{destination}:tenants"


class HeldPayments:
    """One Redis hash per tenant and destination: Keap payment id → payment + next check time."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def hold(
        self, destination: str, payment: CanonicalPayment, recheck_at: datetime, reason: str
    ) -> None:
        record = {
            "payment": CanonicalPaymentSchema().dump(payment),
            "recheck_at": recheck_at.timestamp(),
            "reason": reason,
        }
        self._redis.hset(
            _key(payment.tenant_id, destination), payment.keap_payment_id, json.dumps(record)
        )
        self._redis.sadd(_tenants_key(destination), payment.tenant_id)

    def release(self, tenant_id: str, destination: str, keap_payment_id: str) -> None:
        self._redis.hdel(_key(tenant_id, destination), keap_payment_id)
        if not self._redis.exists(_key(tenant_id, destination)):
            self._redis.srem(_tenants_key(destination), tenant_id)

    def tenants(self, destination: str) -> list[str]:
        """Tenants with at least one payment held for this destination."""
        return sorted(
            reply_text(member) for member in self._redis.smembers(_tenants_key(destination))
        )

    def is_held(self, tenant_id: str, destination: str, keap_payment_id: str) -> bool:
        return bool(self._redis.hexists(_key(tenant_id, destination), keap_payment_id))

    def due(self, tenant_id: str, destination: str, now: datetime) -> list[CanonicalPayment]:
        """Held payments whose re-check time has come, oldest first."""
        return [
            payment
            for payment, recheck_at in self._all(tenant_id, destination)
            if recheck_at <= now.timestamp()
        ]

    def for_invoice(
        self, tenant_id: str, destination: str, keap_invoice_id: str
    ) -> list[CanonicalPayment]:
        return [
            payment
            for payment, _ in self._all(tenant_id, destination)
            if payment.keap_invoice_id == keap_invoice_id
        ]

    def _all(self, tenant_id: str, destination: str) -> list[tuple[CanonicalPayment, float]]:
        found = []
        for raw in self._redis.hvals(_key(tenant_id, destination)):
            record = json.loads(raw)
            payment = CanonicalPaymentSchema().load(record["payment"])
            found.append((payment, float(record["recheck_at"])))
        found.sort(key=lambda pair: pair[1])
        return found
