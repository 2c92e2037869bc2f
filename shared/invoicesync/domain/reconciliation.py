"""Reconciliation: every Keap invoice and payment of a period beside its ledger counterpart.

Pure: the caller reads Keap and the ledger and passes plain data; `reconcile` sorts each pair
into one of four groups (matched, different, missing in the ledger, in the ledger only) and
totals every group per currency. Money is Decimal throughout.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, LineKind
from invoicesync.domain.ledger_numbers import names_the_same_invoice
from invoicesync.domain.provider_rounding import lines_for_ledger
from invoicesync.domain.xero_rounding import ROUNDING_DESCRIPTION


class Group(enum.StrEnum):
    MATCHED = "matched"
    DIFFERENT = "different"
    MISSING_IN_LEDGER = "missing_in_ledger"
    LEDGER_ONLY = "ledger_only"


# The fields compared, in the order a report shows them.
INVOICE_FIELDS = ("total", "tax", "amount_due", "date", "due_date", "contact", "lines")
PAYMENT_FIELDS = ("amount", "date", "invoice")

# Ledger statuses that mean "no longer a live document": its Keap invoice is missing again.
GONE_STATUSES = frozenset({"DELETED", "VOIDED", "VOID"})
# Of those, the ones whose document keeps its number (Xero, QBO): a re-sync reissues them.
VOIDED_STATUSES = frozenset({"VOIDED", "VOID"})


@dataclass(frozen=True)
class LedgerLine:
    description: str
    amount: Decimal


@dataclass(frozen=True)
class LedgerInvoice:
    """A ledger invoice as read back; `keap_order_id` comes from our marker (None: not ours)."""

    ledger_id: str
    number: str
    status: str
    currency: str
    total: Decimal
    tax: Decimal
    amount_due: Decimal
    invoice_date: date
    due_date: date | None
    contact: str
    lines: tuple[LedgerLine, ...]
    keap_order_id: str | None = None


@dataclass(frozen=True)
class LedgerPayment:
    """A payment on a ledger invoice; `keap_payment_id` from the id map (None: not ours)."""

    ledger_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    payment_date: date
    status: str = ""
    keap_payment_id: str | None = None


@dataclass(frozen=True)
class LastWord:
    """The activity log's latest outcome for a Keap object (skipped, failed, held…)."""

    outcome: str
    reason: str = ""


@dataclass(frozen=True)
class FieldDifference:
    name: str
    keap: str
    ledger: str


@dataclass(frozen=True)
class ReportRow:
    group: Group
    kind: str  # "invoice" or "payment"
    keap_id: str  # the Keap invoice/payment id ("" for a ledger-only row)
    number: str  # the invoice number a bookkeeper searches for
    currency: str
    keap_amount: Decimal | None
    ledger_amount: Decimal | None
    ledger_id: str = ""
    differences: tuple[FieldDifference, ...] = ()
    last_word: LastWord | None = None
    keap_order_id: str = ""

    @property
    def content_differs(self) -> bool:
        """Whether the ledger's document differs in more than what payments change (the
        amount due follows from payments, which have rows of their own)."""
        return any(d.name != "amount_due" for d in self.differences)

    @property
    def amount(self) -> Decimal:
        """The row's amount for the group totals: Keap's figure, or the ledger's when only it
        has one."""
        if self.keap_amount is not None:
            return self.keap_amount
        return self.ledger_amount or Decimal(0)


@dataclass(frozen=True)
class GroupTotal:
    group: Group
    currency: str
    count: int
    keap_amount: Decimal
    ledger_amount: Decimal


@dataclass(frozen=True)
class Reconciliation:
    rows: tuple[ReportRow, ...]
    totals: tuple[GroupTotal, ...] = field(default=())

    def in_group(self, group: Group) -> list[ReportRow]:
        return [row for row in self.rows if row.group is group]

    @property
    def all_matched(self) -> bool:
        return all(row.group is Group.MATCHED for row in self.rows)

    def to_resync(self) -> list[ReportRow]:
        """What re-sync drives again: Keap objects the ledger lacks or shows differently.
        Ledger-only rows have no Keap object to drive: re-sync voids such an invoice when its
        order was deleted, and records such a payment in Keap."""
        return [
            row
            for row in self.rows
            if row.group in (Group.MISSING_IN_LEDGER, Group.DIFFERENT) and row.keap_id
        ]


def orders_to_resync(report: Reconciliation) -> list[str]:
    """The Keap orders whose re-sync covers every missing or different row: an order carries
    its invoice and all its payments through the pipeline."""
    return sorted({row.keap_order_id for row in report.to_resync() if row.keap_order_id})


def reconcile(
    keap_invoices: Sequence[CanonicalInvoice],
    keap_payments: Sequence[CanonicalPayment],
    ledger_invoices: Sequence[LedgerInvoice],
    ledger_payments: Sequence[LedgerPayment],
    last_words: Mapping[str, LastWord] | None = None,
    recorded_from: Mapping[str, str] | None = None,
) -> Reconciliation:
    """Pair Keap's invoices (numbers as the ledger carries them) and payments with the
    ledger's. `last_words` is keyed `invoice:<keap invoice id>` / `payment:<keap payment id>`.
    `recorded_from` maps a Keap payment ReverseSync recorded to the ledger payment (of this
    report's ledger) its note names: the id map knows only the payments Keap sent."""
    words = last_words or {}
    rows = _invoice_rows(keap_invoices, ledger_invoices, words)
    orders = {invoice.keap_invoice_id: invoice.keap_order_id for invoice in keap_invoices}
    rows += _payment_rows(keap_payments, ledger_payments, words, orders, recorded_from or {})
    return Reconciliation(tuple(rows), group_totals(rows))


def _invoice_rows(
    keap_invoices: Sequence[CanonicalInvoice],
    ledger_invoices: Sequence[LedgerInvoice],
    words: Mapping[str, LastWord],
) -> list[ReportRow]:
    live = [doc for doc in ledger_invoices if doc.status.upper() not in GONE_STATUSES]
    by_number = {doc.number: doc for doc in live}
    by_order = {doc.keap_order_id: doc for doc in live if doc.keap_order_id}
    paired: set[str] = set()
    rows = []
    for invoice in keap_invoices:
        doc = by_number.get(invoice.invoice_number) or by_order.get(invoice.keap_order_id)
        if doc is None:
            rows.append(
                ReportRow(
                    Group.MISSING_IN_LEDGER,
                    "invoice",
                    invoice.keap_invoice_id,
                    invoice.invoice_number,
                    invoice.currency,
                    invoice.totals.total,
                    None,
                    last_word=words.get(f"invoice:{invoice.keap_invoice_id}"),
                    keap_order_id=invoice.keap_order_id,
                )
            )
            continue
        paired.add(doc.ledger_id)
        differences = invoice_differences(invoice, doc)
        rows.append(
            ReportRow(
                Group.DIFFERENT if differences else Group.MATCHED,
                "invoice",
                invoice.keap_invoice_id,
                invoice.invoice_number,
                invoice.currency,
                invoice.totals.total,
                doc.total,
                ledger_id=doc.ledger_id,
                differences=differences,
                keap_order_id=invoice.keap_order_id,
            )
        )
    for doc in live:
        # Only documents this system wrote: a company's own invoices are none of the report's.
        if doc.ledger_id in paired or doc.keap_order_id is None:
            continue
        rows.append(
            ReportRow(
                Group.LEDGER_ONLY,
                "invoice",
                "",
                doc.number,
                doc.currency,
                None,
                doc.total,
                ledger_id=doc.ledger_id,
                keap_order_id=doc.keap_order_id,
            )
        )
    return rows


def invoice_differences(
    invoice: CanonicalInvoice, doc: LedgerInvoice
) -> tuple[FieldDifference, ...]:
    """Which compared fields disagree, with Keap's value and the ledger's. Keap's side is what
    the writers post: its tax lines become plain lines (and no ledger tax) when no line is
    taxable; a ledger's rounding adjustment line is the writer's own, not a difference."""
    posted = lines_for_ledger(invoice)
    taxed = any(line.taxable for line in invoice.lines)
    keap_values = {
        "total": _money(invoice.totals.total),
        "tax": _money(invoice.totals.tax if taxed else Decimal(0)),
        "amount_due": _money(invoice.totals.due),
        "date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "contact": invoice.contact.name.strip(),
        "lines": _lines_text(
            line.line_amount for line in posted if line.kind is not LineKind.TAX or not taxed
        ),
    }
    ledger_values = {
        "total": _money(doc.total),
        "tax": _money(doc.tax),
        "amount_due": _money(doc.amount_due),
        "date": doc.invoice_date.isoformat(),
        "due_date": doc.due_date.isoformat() if doc.due_date else "",
        "contact": doc.contact.strip(),
        "lines": _lines_text(
            line.amount for line in doc.lines if line.description != ROUNDING_DESCRIPTION
        ),
    }
    differences = []
    for name in INVOICE_FIELDS:
        keap, ledger = keap_values[name], ledger_values[name]
        if name == "contact":
            # A ledger contact name may be disambiguated ("Ann Lee (ann@x.com)"): ours if it
            # starts with Keap's name.
            same = ledger.casefold().startswith(keap.casefold())
        else:
            same = keap == ledger
        if not same:
            differences.append(FieldDifference(name, keap, ledger))
    return tuple(differences)


def _payment_rows(
    keap_payments: Sequence[CanonicalPayment],
    ledger_payments: Sequence[LedgerPayment],
    words: Mapping[str, LastWord],
    orders: Mapping[str, str],
    recorded_from: Mapping[str, str],
) -> list[ReportRow]:
    live = [pay for pay in ledger_payments if pay.status.upper() not in GONE_STATUSES]
    by_keap_id = {pay.keap_payment_id: pay for pay in live if pay.keap_payment_id}
    by_ledger_id: dict[str, list[int]] = {}
    for index, pay in enumerate(live):
        by_ledger_id.setdefault(pay.ledger_id, []).append(index)
    paired: set[str] = set()  # paired through the id map: every row of that ledger payment
    paired_rows: set[int] = set()  # paired through a ReverseSync marker: that one row
    rows = []
    for payment in keap_payments:
        match = by_keap_id.get(payment.keap_payment_id)
        named = recorded_from.get(payment.keap_payment_id)
        if match is not None:
            paired.add(match.ledger_id)
        elif named is not None:
            found = _recorded_counterpart(
                payment, by_ledger_id.get(named, []), live, paired, paired_rows
            )
            if found is not None:
                paired_rows.add(found)
                match = live[found]
        if match is None:
            rows.append(
                ReportRow(
                    Group.MISSING_IN_LEDGER,
                    "payment",
                    payment.keap_payment_id,
                    payment.invoice_number,
                    payment.currency,
                    payment.amount,
                    None,
                    last_word=words.get(f"payment:{payment.keap_payment_id}"),
                    keap_order_id=orders.get(payment.keap_invoice_id, ""),
                )
            )
            continue
        differences = payment_differences(payment, match)
        rows.append(
            ReportRow(
                Group.DIFFERENT if differences else Group.MATCHED,
                "payment",
                payment.keap_payment_id,
                payment.invoice_number,
                payment.currency,
                payment.amount,
                match.amount,
                ledger_id=match.ledger_id,
                differences=differences,
                keap_order_id=orders.get(payment.keap_invoice_id, ""),
            )
        )
    for index, pay in enumerate(live):
        if pay.ledger_id in paired or index in paired_rows:
            continue
        rows.append(
            ReportRow(
                Group.LEDGER_ONLY,
                "payment",
                "",
                pay.invoice_number,
                pay.currency,
                None,
                pay.amount,
                ledger_id=pay.ledger_id,
            )
        )
    return rows


def _recorded_counterpart(
    payment: CanonicalPayment,
    candidates: Sequence[int],
    live: Sequence[LedgerPayment],
    paired: set[str],
    paired_rows: set[int],
) -> int | None:
    """The row of the ledger payment a ReverseSync-recorded Keap payment came from. A QBO
    payment paying several invoices reads as one row per invoice, and ReverseSync recorded one
    Keap payment per invoice, all naming the same payment: the row of this payment's invoice
    first."""
    free = [i for i in candidates if i not in paired_rows and live[i].ledger_id not in paired]
    same_invoice = [i for i in free if _names_invoice(live[i], payment.invoice_number)]
    preferred = same_invoice or free
    return preferred[0] if preferred else None


def _names_invoice(ledger: LedgerPayment, keap_number: str) -> bool:
    # Keap's number without the ledger's prefix still names the same invoice.
    return ledger.invoice_number == keap_number or ledger.invoice_number.endswith(keap_number)


def payment_differences(
    payment: CanonicalPayment, ledger: LedgerPayment
) -> tuple[FieldDifference, ...]:
    pairs = (
        ("amount", _money(payment.amount), _money(ledger.amount)),
        ("date", payment.payment_date.isoformat(), ledger.payment_date.isoformat()),
        ("invoice", payment.invoice_number, ledger.invoice_number),
    )
    return tuple(
        FieldDifference(name, keap, led)
        for name, keap, led in pairs
        # Keap's number without the ledger's prefix or reissue suffix names the same invoice.
        if not (keap == led or (name == "invoice" and names_the_same_invoice(keap, led)))
    )


def group_totals(rows: Iterable[ReportRow]) -> tuple[GroupTotal, ...]:
    """Count and sums per group and currency, in group order then currency order."""
    sums: dict[tuple[Group, str], tuple[int, Decimal, Decimal]] = {}
    for row in rows:
        count, keap, ledger = sums.get((row.group, row.currency), (0, Decimal(0), Decimal(0)))
        sums[(row.group, row.currency)] = (
            count + 1,
            keap + (row.keap_amount or Decimal(0)),
            ledger + (row.ledger_amount or Decimal(0)),
        )
    order = list(Group)
    return tuple(
        GroupTotal(group, currency, *sums[(group, currency)])
        for group, currency in sorted(sums, key=lambda k: (order.index(k[0]), k[1]))
    )


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def _lines_text(amounts: Iterable[Decimal]) -> str:
    """Line amounts, largest first, zero lines left out. Amounts, not descriptions: a writer
    may reword a description (a discount's percentage, a quantity folded in)."""
    kept = sorted((amount for amount in amounts if amount), reverse=True)
    return ", ".join(_money(amount) for amount in kept)
