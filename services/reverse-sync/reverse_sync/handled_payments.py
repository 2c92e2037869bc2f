"""Redis marks of ledger payments ReverseSync has dealt with, so repeats cost one GET, and the
payments it could not match to a Keap invoice yet."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import redis

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_to_keap import DestinationPayment
from invoicesync.stores.redis_connection import reply_text

# Long enough to outlive any webhook retry or poll overlap; Keap's own payment notes stay the
# authority after that.
MARK_TTL_SECONDS = 400 * 24 * 3600


def _handled_key(tenant_id: str, destination: str, payment_id: str, target: str) -> str:
    return (
        f"invoicesync:tenant:{tenant_id}:reverse-sync:handled:{destination}:{payment_id}:{target}"
    )


def _recorded_key(tenant_id: str, destination: str, payment_id: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:recorded:{destination}:{payment_id}"


class HandledPayments:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def handled(self, tenant_id: str, destination: str, payment_id: str, target: str) -> bool:
        """`target` names what was done: the invoice paid, or the deletion/refund itself."""
        return bool(self._redis.exists(_handled_key(tenant_id, destination, payment_id, target)))

    def mark_handled(self, tenant_id: str, destination: str, payment_id: str, target: str) -> None:
        key = _handled_key(tenant_id, destination, payment_id, target)
        self._redis.set(key, "1", ex=MARK_TTL_SECONDS)

    def mark_recorded(self, tenant_id: str, destination: str, payment_id: str, order_id: str):
        key = _recorded_key(tenant_id, destination, payment_id)
        self._redis.sadd(key, order_id)
        self._redis.expire(key, MARK_TTL_SECONDS)

    def recorded_orders(self, tenant_id: str, destination: str, payment_id: str) -> list[str]:
        members = self._redis.smembers(_recorded_key(tenant_id, destination, payment_id))
        return sorted(reply_text(member) for member in members)


def _unresolved_key(tenant_id: str, destination: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:reverse-sync:unresolved:{destination}"


class UnresolvedPayments:
    """Ledger payments on an invoice of ours whose Keap invoice cannot be found yet: kept here,
    past the poll cursor, and tried again at every poll until they are dealt with."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def keep(self, tenant_id: str, payment: DestinationPayment) -> bool:
        """True the first time the payment is kept."""
        document = {
            "payment_id": payment.payment_id,
            "invoice_id": payment.invoice_id,
            "amount": str(payment.amount),
            "payment_date": payment.payment_date.isoformat(),
            "method": payment.method,
            "currency": payment.currency,
        }
        key = _unresolved_key(tenant_id, payment.destination.value)
        field = f"{payment.payment_id}:{payment.invoice_id}"
        return bool(self._redis.hsetnx(key, field, json.dumps(document)))

    def release(self, tenant_id: str, payment: DestinationPayment) -> None:
        key = _unresolved_key(tenant_id, payment.destination.value)
        self._redis.hdel(key, f"{payment.payment_id}:{payment.invoice_id}")

    def release_deleted(self, tenant_id: str, destination: str, payment_id: str) -> None:
        """A kept payment deleted in the ledger is no longer waiting for anything."""
        key = _unresolved_key(tenant_id, destination)
        for field in self._redis.hkeys(key):
            if reply_text(field).split(":", 1)[0] == payment_id:
                self._redis.hdel(key, field)

    def kept(self, tenant_id: str, destination: Destination) -> list[DestinationPayment]:
        stored = self._redis.hvals(_unresolved_key(tenant_id, destination.value))
        kept = []
        for raw in stored:
            document = json.loads(raw)
            kept.append(
                DestinationPayment(
                    destination=destination,
                    payment_id=document["payment_id"],
                    invoice_id=document["invoice_id"],
                    amount=Decimal(document["amount"]),
                    payment_date=date.fromisoformat(document["payment_date"]),
                    method=document.get("method", ""),
                    currency=document.get("currency", "USD"),
                )
            )
        return sorted(kept, key=lambda payment: (payment.payment_date, payment.payment_id))
