"""ReverseSync: a payment recorded in Xero or QBO as the manual payment to record in Keap."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import Destination
from invoicesync.domain.money import to_cents
from invoicesync.domain.sync_rules import reverse_sync_note
from invoicesync.domain.tenant_settings import KeapSettings

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DestinationPayment:
    """A payment read from the ledger against an invoice this product synced."""

    destination: Destination
    payment_id: str
    invoice_id: str
    amount: Decimal
    payment_date: date
    method: str = ""
    currency: str = "USD"


@dataclass(frozen=True)
class KeapManualPayment:
    """The fields of Keap's `POST /rest/v2/orders/{order_id}/payments` for a manual payment."""

    payment_amount: Decimal
    payment_date: date
    payment_method_type: str
    notes: str
    external_source: str
    external_source_value: str
    apply_to_commissions: bool = False


@dataclass(frozen=True)
class CappedKeapPayment:
    """What can be recorded in Keap (None if nothing) and why the rest could not be."""

    payment: KeapManualPayment | None
    remainder: Decimal
    exception_note: str = ""


def keap_payment_from_ledger(
    payment: DestinationPayment, settings: KeapSettings
) -> KeapManualPayment:
    """The manual payment for Keap. Its note starts with the reverse-sync marker and names the
    ledger payment, so the forward sync recognises its own echo and a retry can find it."""
    method = f" ({payment.method})" if payment.method else ""
    marker_text = f"{payment.destination.value} payment {payment.payment_id}{method}"
    return KeapManualPayment(
        payment_amount=to_cents(payment.amount, payment.currency),
        payment_date=payment.payment_date,
        payment_method_type=settings.manual_payment_type,
        notes=reverse_sync_note(marker_text),
        external_source=payment.destination.value.upper(),
        external_source_value=payment.payment_id,
    )


def cap_to_order_balance(payment: KeapManualPayment, order_balance: Decimal) -> CappedKeapPayment:
    """Keap refuses a payment above the order's balance: record what fits, report the rest."""
    balance = max(order_balance, _ZERO)
    if payment.payment_amount <= balance:
        return CappedKeapPayment(payment, _ZERO)
    remainder = payment.payment_amount - balance
    note = (
        f"{payment.external_source} payment {payment.external_source_value} of "
        f"{payment.payment_amount} exceeds the Keap order balance {balance}; "
        f"{remainder} was not recorded in Keap."
    )
    if balance == 0:
        return CappedKeapPayment(None, remainder, note)
    return CappedKeapPayment(replace(payment, payment_amount=balance), remainder, note)


def keap_payment_request_body(payment: KeapManualPayment) -> dict:
    """The JSON body for Keap. `payment_amount` is a Decimal: the client writes it as a JSON
    number with exactly these digits (Keap's v2 spec types it as a number)."""
    return {
        "payment_amount": payment.payment_amount,
        "apply_to_commissions": payment.apply_to_commissions,
        "payment_method_type": payment.payment_method_type,
        "payment_time": f"{payment.payment_date.isoformat()}T00:00:00Z",
        "notes": payment.notes,
        "external_source": payment.external_source,
        "external_source_value": payment.external_source_value,
    }
