"""ReverseSync: a payment recorded in Xero or QBO as the manual payment to record in Keap."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from invoicesync.domain.canonical import Destination
from invoicesync.domain.keap_order import KeapOrder, KeapPayment
from invoicesync.domain.money import to_cents
from invoicesync.domain.sync_rules import is_reverse_sync_note, reverse_sync_note
from invoicesync.domain.tenant_settings import KeapSettings

_ZERO = Decimal("0.00")
# Noon, not midnight: the ledger gives a date only, and noon stays on that day in the app's
# calendar even if Keap's idea of the zone (or its daylight-saving table) is off by hours.
_PAYMENT_TIME_OF_DAY = time(12)


def keap_payment_time(payment_date: date, timezone: str) -> datetime:
    """The instant (UTC) Keap is given for a ledger payment dated `payment_date`, so that Keap,
    showing times in the app's time zone, shows that same date. Midnight UTC would be the day
    before anywhere west of UTC."""
    local = datetime.combine(payment_date, _PAYMENT_TIME_OF_DAY, ZoneInfo(timezone))
    return local.astimezone(UTC)


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
    payment_time: datetime  # the instant for Keap: `payment_date` in the Keap app's zone
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
        payment_time=keap_payment_time(payment.payment_date, settings.timezone),
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


def carries_marker(payment: KeapPayment, ledger: DestinationPayment) -> bool:
    """Whether a Keap payment is the one ReverseSync wrote for this ledger payment."""
    if not is_reverse_sync_note(payment.note):
        return False
    marker = rf"\b{ledger.destination.value} payment {re.escape(ledger.payment_id)}(?=\s|\(|$)"
    return re.search(marker, payment.note) is not None


@dataclass(frozen=True)
class LedgerPaymentRef:
    """The ledger payment a reverse-sync marker names."""

    destination: Destination
    payment_id: str


_MARKER_NAMES = re.compile(
    rf"\b({'|'.join(re.escape(d.value) for d in Destination)}) payment ([^\s(]+)(?=\s|\(|$)"
)


def ledger_payment_named_in(note: str | None) -> LedgerPaymentRef | None:
    """The ledger payment a Keap payment's note names when ReverseSync wrote it (the note
    `keap_payment_from_ledger` writes); None for any other note. Keap returns no `external_*`
    field on a payment (keap.md §4.2), so the note is where the ledger payment id comes back."""
    if note is None or not is_reverse_sync_note(note):
        return None
    found = _MARKER_NAMES.search(note)
    if found is None:
        return None
    return LedgerPaymentRef(Destination(found.group(1)), found.group(2))


class KeapRecordingAction(enum.StrEnum):
    # Record `payment` in Keap; a non-empty `exception` is the part that did not fit.
    RECORD = "record"
    # Keap's order already has it (a retry, or a Redis mark lost): write nothing.
    ALREADY_RECORDED = "already_recorded"
    # Nothing can be recorded (the order is gone or paid up): `exception` says what to do.
    EXCEPTION = "exception"


@dataclass(frozen=True)
class KeapRecordingDecision:
    action: KeapRecordingAction
    payment: KeapManualPayment | None = None
    exception: str = ""
    keap_payment_id: str = ""  # with ALREADY_RECORDED: the Keap payment found


def keap_recording_decision(
    payment: DestinationPayment,
    keap_invoice_id: str,
    order: KeapOrder | None,
    order_payments: Sequence[KeapPayment],
    settings: KeapSettings,
) -> KeapRecordingDecision:
    """Record a ledger payment on the Keap order of its invoice, once, and no more than the
    order's balance. `order` is None when Keap no longer has the invoice; `order_payments` are
    the payments Keap lists on it."""
    if order is None:
        return KeapRecordingDecision(
            KeapRecordingAction.EXCEPTION,
            exception=f"Keap invoice {keap_invoice_id} no longer exists",
        )
    found = next((p for p in order_payments if carries_marker(p, payment)), None)
    if found is not None:
        return KeapRecordingDecision(KeapRecordingAction.ALREADY_RECORDED, keap_payment_id=found.id)
    manual = keap_payment_from_ledger(payment, settings)
    order_total = order.total if order.total is not None else manual.payment_amount
    capped = cap_to_order_balance(manual, order_total - order.total_paid)
    if capped.payment is None:
        return KeapRecordingDecision(KeapRecordingAction.EXCEPTION, exception=capped.exception_note)
    exception = capped.exception_note if capped.remainder > 0 else ""
    return KeapRecordingDecision(KeapRecordingAction.RECORD, capped.payment, exception)


def keap_payment_request_body(payment: KeapManualPayment) -> dict[str, Any]:
    """The JSON body for Keap. `payment_amount` is a Decimal: the client writes it as a JSON
    number with exactly these digits (Keap's v2 spec types it as a number)."""
    return {
        "payment_amount": payment.payment_amount,
        "apply_to_commissions": payment.apply_to_commissions,
        "payment_method_type": payment.payment_method_type,
        "payment_time": payment.payment_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "notes": payment.notes,
        "external_source": payment.external_source,
        "external_source_value": payment.external_source_value,
    }
