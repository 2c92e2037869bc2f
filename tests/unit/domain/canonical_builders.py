"""Small builders for canonical invoices, payments and contacts in tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Line,
    LineKind,
    PaymentKind,
    Totals,
)

INVOICE_DATE = date(2026, 5, 1)
DUE_DATE = date(2026, 5, 31)


def product(
    unit_amount: str,
    quantity: str = "1",
    *,
    description: str = "Widget",
    taxable: bool = False,
    sku: str | None = None,
    line_amount: str | None = None,
) -> Line:
    """A product line; its amount is Qty × unit rounded half up unless given."""
    qty, unit = Decimal(quantity), Decimal(unit_amount)
    amount = Decimal(line_amount) if line_amount else (qty * unit).quantize(Decimal("0.01"))
    return Line(LineKind.PRODUCT, description, qty, unit, amount, taxable, sku)


def charge(kind: LineKind, amount: str, *, taxable: bool = False, description: str = "") -> Line:
    """A one-unit line of another kind (shipping, discount, finance charge, tax, other)."""
    value = Decimal(amount)
    return Line(
        kind, description or kind.value.replace("_", " "), Decimal(1), value, value, taxable
    )


def invoice(
    *lines: Line,
    tax_inclusive: bool = False,
    currency: str = "USD",
    invoice_number: str = "1042",
    total: str | None = None,
) -> CanonicalInvoice:
    """An invoice whose totals follow keap_to_canonical's invariants (or a forced total)."""
    taxes = sum((line.line_amount for line in lines if line.kind is LineKind.TAX), Decimal("0"))
    if tax_inclusive:
        lines = tuple(line for line in lines if line.kind is not LineKind.TAX)
        computed_total = sum((line.line_amount for line in lines), Decimal("0.00"))
        subtotal = computed_total - taxes
    else:
        subtotal = sum(
            (line.line_amount for line in lines if line.kind is not LineKind.TAX), Decimal("0.00")
        )
        computed_total = subtotal + taxes
    grand_total = Decimal(total) if total is not None else computed_total
    return CanonicalInvoice(
        tenant_id="tenant-1",
        keap_invoice_id="1042",
        keap_order_id="987",
        invoice_number=invoice_number,
        contact=contact(),
        currency=currency,
        invoice_date=INVOICE_DATE,
        due_date=DUE_DATE,
        lines=tuple(lines),
        totals=Totals(subtotal, taxes, grand_total, Decimal("0.00"), grand_total),
        tax_inclusive=tax_inclusive,
        content_hash="hash-1",
    )


def inclusive_tax(amount: str) -> Line:
    """Keap's tax on a tax-inclusive order: counted in totals, not sent as a line."""
    return charge(LineKind.TAX, amount)


def payment(
    amount: str = "50.00", *, kind: PaymentKind = PaymentKind.PAYMENT, payment_id: str = "7781"
) -> CanonicalPayment:
    return CanonicalPayment(
        tenant_id="tenant-1",
        keap_payment_id=payment_id,
        keap_invoice_id="1042",
        amount=Decimal(amount),
        payment_date=date(2026, 5, 5),
        method="Credit Card",
        kind=kind,
    )


def contact(
    name: str = "Jane Smith",
    keap_id: str = "1234",
    email: str | None = "jane@example.com",
    company: str | None = None,
) -> Contact:
    return Contact(keap_id=keap_id, name=name, email=email, company=company)
