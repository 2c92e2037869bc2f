"""Payments as Xero and QBO return them, read into the domain's DestinationPayment (pure).

Each reading also says what kind of money movement it is (a payment, a refund, a deletion) and
whether the forward sync wrote it (its Reference / PrivateNote starts with "Keap payment" or
"Keap refund"), so it is never echoed back to Keap.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_to_keap import DestinationPayment
from invoicesync.domain.money import to_decimal

_FORWARD_SYNC_MARK = re.compile(r"^\s*Keap (?:payment|refund) ")
_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")
# Receivable-side money leaving through a credit note, overpayment or prepayment: a refund.
_XERO_REFUND_TYPES = frozenset({"ARCREDITPAYMENT", "AROVERPAYMENTPAYMENT", "ARPREPAYMENTPAYMENT"})


class LedgerPaymentKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    DELETED = "deleted"


@dataclass(frozen=True)
class LedgerPayment:
    payment: DestinationPayment
    kind: LedgerPaymentKind
    from_keap: bool
    updated_at: datetime | None = None


def xero_ledger_payment(row: dict[str, Any]) -> LedgerPayment | None:
    """One row of Xero's GET /Payments; None for payables, which are none of our business."""
    payment_type = str(row.get("PaymentType") or "ACCRECPAYMENT")
    if payment_type.startswith("ACCPAY") or payment_type.startswith("AP"):
        return None
    target = row.get("Invoice") or row.get("CreditNote") or {}
    target_id = str(target.get("InvoiceID") or target.get("CreditNoteID") or "")
    if str(row.get("Status", "")).upper() == "DELETED":
        kind = LedgerPaymentKind.DELETED
    elif payment_type in _XERO_REFUND_TYPES or "CreditNote" in row:
        kind = LedgerPaymentKind.REFUND
    else:
        kind = LedgerPaymentKind.PAYMENT
    return LedgerPayment(
        DestinationPayment(
            destination=Destination.XERO,
            payment_id=str(row["PaymentID"]),
            invoice_id=target_id,
            amount=to_decimal(row.get("Amount", "0")),
            payment_date=_xero_date(row.get("Date")) or date.today(),
            currency=str(target.get("CurrencyCode") or "USD"),
        ),
        kind,
        from_keap=bool(_FORWARD_SYNC_MARK.match(str(row.get("Reference") or ""))),
        updated_at=_xero_datetime(row.get("UpdatedDateUTC")),
    )


def qbo_ledger_payments(row: dict[str, Any], entity: str = "Payment") -> list[LedgerPayment]:
    """A QBO Payment (one reading per invoice it pays), a RefundReceipt, or a deleted stub."""
    payment_id = str(row["Id"])
    updated_at = _iso_datetime((row.get("MetaData") or {}).get("LastUpdatedTime"))
    from_keap = bool(_FORWARD_SYNC_MARK.match(str(row.get("PrivateNote") or "")))
    paid_on = _iso_date(row.get("TxnDate")) or date.today()
    currency = str((row.get("CurrencyRef") or {}).get("value") or "USD")

    def reading(invoice_id: str, amount: Decimal, kind: LedgerPaymentKind) -> LedgerPayment:
        payment = DestinationPayment(
            Destination.QBO, payment_id, invoice_id, amount, paid_on, currency=currency
        )
        return LedgerPayment(payment, kind, from_keap, updated_at)

    if str(row.get("status", "")).lower() == "deleted":
        return [reading("", Decimal(0), LedgerPaymentKind.DELETED)]
    if entity == "RefundReceipt":
        return [reading("", to_decimal(row.get("TotalAmt", "0")), LedgerPaymentKind.REFUND)]
    return [
        reading(str(link["TxnId"]), to_decimal(line.get("Amount", "0")), LedgerPaymentKind.PAYMENT)
        for line in row.get("Line") or []
        for link in line.get("LinkedTxn") or []
        if link.get("TxnType") == "Invoice"
    ]


def requested_readings(readings: Sequence[LedgerPayment], invoice_id: str) -> list[LedgerPayment]:
    """The readings of a payment a bookkeeper asked for: all of them, or with `invoice_id` only
    the one on that invoice (a QBO payment may pay several; qbo.md §5)."""
    if not invoice_id:
        return list(readings)
    return [seen for seen in readings if seen.payment.invoice_id in ("", invoice_id)]


def _xero_datetime(value: Any) -> datetime | None:
    match = _MS_DATE.match(str(value or ""))
    if match is None:
        return _iso_datetime(value)
    return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)


def _xero_date(value: Any) -> date | None:
    moment = _xero_datetime(value)
    return moment.date() if moment is not None else None


def _iso_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
