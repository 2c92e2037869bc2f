"""Keap order and payments → the canonical invoice and payments, with the tenant's settings.

How a Keap order becomes lines (the totals invariant writers rely on):
- every item is one line, its amount = quantity × price per unit, rounded half up to the
  currency's minor unit; discount items (DISCOUNT*) are negative lines of the item's
  `discount` amount (or, failing that, of |quantity × price|, or of a fixed `special` amount);
- a non-discount item that carries its own `discount` gets a separate negative DISCOUNT line
  right after it, so the product line keeps Keap's price and the discount stays visible;
- tax exclusive (Keap adds TAX items on top): TAX items stay as TAX lines and
  `totals.tax` is their sum, so sum(non-tax lines) == subtotal, subtotal + tax == total,
  and sum(all lines) == total;
- tax inclusive (prices already hold the tax): TAX items are not lines, `totals.tax` is their
  sum, sum(lines) == total and subtotal == total - tax;
- finance charges are FINANCE_CHARGE lines, or are left out (and out of the total) when the
  tenant ignores them.
The result must equal Keap's own total to the cent, otherwise KeapOrderMismatch is raised:
an order we cannot reproduce exactly is flagged, never sent with a different total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Contact,
    Line,
    LineKind,
    PaymentKind,
    PaymentPlan,
    Totals,
)
from invoicesync.domain.content_hash import with_content_hash, with_payment_content_hash
from invoicesync.domain.keap_order import (
    KeapContact,
    KeapItemType,
    KeapOrder,
    KeapOrderItem,
    KeapOrderStatus,
    KeapPayment,
    KeapPaymentPlan,
)
from invoicesync.domain.money import to_cents
from invoicesync.domain.sync_rules import due_date_for
from invoicesync.domain.tenant_settings import (
    FinanceChargeHandling,
    KeapSettings,
    TaxHandling,
    TenantSettings,
)

_ZERO = Decimal(0)

LINE_KIND_BY_ITEM_TYPE: dict[KeapItemType, LineKind] = {
    KeapItemType.PRODUCT: LineKind.PRODUCT,
    KeapItemType.SERVICE: LineKind.PRODUCT,
    KeapItemType.UPSELL: LineKind.PRODUCT,
    KeapItemType.PROGRAM: LineKind.PRODUCT,
    KeapItemType.SUBSCRIPTION: LineKind.PRODUCT,
    KeapItemType.SHIPPING: LineKind.SHIPPING,
    KeapItemType.TAX: LineKind.TAX,
    KeapItemType.FINANCE_CHARGE: LineKind.FINANCE_CHARGE,
    KeapItemType.DISCOUNT: LineKind.DISCOUNT,
    KeapItemType.DISCOUNT_FREE_TRIAL: LineKind.DISCOUNT,
    KeapItemType.DISCOUNT_ORDER_TOTAL: LineKind.DISCOUNT,
    KeapItemType.DISCOUNT_PRODUCT: LineKind.DISCOUNT,
    KeapItemType.DISCOUNT_PRODUCT_CATEGORY: LineKind.DISCOUNT,
    KeapItemType.DISCOUNT_SHIPPING: LineKind.DISCOUNT,
    KeapItemType.TIP: LineKind.OTHER,
    KeapItemType.FEE: LineKind.OTHER,
    KeapItemType.OTHER: LineKind.OTHER,
    KeapItemType.UNKNOWN: LineKind.OTHER,
}


class KeapOrderMismatch(ValueError):
    """The order's items do not reproduce Keap's own total: it cannot be synced as it is."""


def canonical_invoice_from_keap_order(
    order: KeapOrder,
    settings: TenantSettings,
    tenant_id: str,
    payments: Sequence[KeapPayment] = (),
) -> CanonicalInvoice:
    """The canonical invoice for `order`, content hash included.

    `payments` (the order's payments, if the caller has them) decide whether the invoice was
    paid at creation: settled payments dated on or before the invoice date cover its total.
    Without them an order Keap already reports PAID counts as paid at creation.
    """
    keap = settings.keap
    currency = order_currency(order, keap)
    zone = ZoneInfo(keap.timezone)
    invoice_date = _invoice_date(order, zone)
    lines, ignored = canonical_lines(order.items, currency, keap)
    taxes = sum((line.line_amount for line in lines if line.kind is LineKind.TAX), _ZERO)
    lines = _with_a_taxable_line(lines, taxes)
    if keap.tax_handling is TaxHandling.INCLUSIVE:
        lines = tuple(line for line in lines if line.kind is not LineKind.TAX)
        total = sum((line.line_amount for line in lines), _ZERO)
        subtotal = total - taxes
    else:
        subtotal = sum((line.line_amount for line in lines if line.kind is not LineKind.TAX), _ZERO)
        total = subtotal + taxes
    _check_total(order, currency, total, ignored)
    paid = to_cents(order.total_paid, currency)
    due = max(total - paid, _ZERO)
    totals = Totals(*(to_cents(amount, currency) for amount in (subtotal, taxes, total, paid, due)))
    plan = canonical_payment_plan(order.payment_plan)
    paid_at_creation = _paid_at_creation(order, total, invoice_date, payments, currency, zone)
    invoice = CanonicalInvoice(
        tenant_id=tenant_id,
        keap_invoice_id=order.invoice_id or order.id,
        keap_order_id=order.id,
        invoice_number=_invoice_number(order),
        contact=canonical_contact(order.contact),
        currency=currency,
        invoice_date=invoice_date,
        due_date=due_date_for(invoice_date, paid_at_creation, plan, settings.sync.due_date_days),
        lines=lines,
        totals=totals,
        paid_at_creation=paid_at_creation,
        payment_plan=plan,
        tax_inclusive=keap.tax_handling is TaxHandling.INCLUSIVE,
        keap_modified_at=order.modification_time,
    )
    return with_content_hash(invoice)


def canonical_payments_from_keap(
    order: KeapOrder,
    payments: Iterable[KeapPayment],
    settings: TenantSettings,
    tenant_id: str,
) -> list[CanonicalPayment]:
    """The settled payments and refunds applied to `order`, oldest first, hashes included.

    Failed, pending, voided and errored rows moved no money and are left out, as are rows
    that belong to another order and rows of zero.
    """
    currency = order_currency(order, settings.keap)
    zone = ZoneInfo(settings.keap.timezone)
    invoice_id = order.invoice_id or order.id
    result = []
    for payment in payments:
        amount = to_cents(abs(payment.amount), currency)
        if not payment.status.is_settled or not _belongs_to(order, payment) or amount == 0:
            continue
        paid_on = _local_date(payment.paid_at, zone) if payment.paid_at else None
        result.append(
            with_payment_content_hash(
                CanonicalPayment(
                    tenant_id=tenant_id,
                    keap_payment_id=payment.id,
                    keap_invoice_id=invoice_id,
                    amount=amount,
                    payment_date=paid_on or _invoice_date(order, zone),
                    method=payment.method or "Keap",
                    kind=PaymentKind.REFUND if payment.is_refund else PaymentKind.PAYMENT,
                    currency=currency,
                    invoice_number=_invoice_number(order),
                )
            )
        )
    return sorted(result, key=lambda p: (p.payment_date, p.keap_payment_id))


def order_currency(order: KeapOrder, keap: KeapSettings) -> str:
    return (order.currency or keap.currency).upper()


def canonical_lines(
    items: Iterable[KeapOrderItem], currency: str, keap: KeapSettings
) -> tuple[tuple[Line, ...], Decimal]:
    """The invoice lines, and the finance charges left out because the tenant ignores them."""
    lines: list[Line] = []
    ignored = _ZERO
    for item in items:
        item_lines = _lines_for_item(item, currency)
        if (
            item.item_type is KeapItemType.FINANCE_CHARGE
            and keap.finance_charges is FinanceChargeHandling.IGNORE
        ):
            ignored += sum((line.line_amount for line in item_lines), _ZERO)
            continue
        lines.extend(item_lines)
    return tuple(lines), ignored


def _with_a_taxable_line(lines: tuple[Line, ...], taxes: Decimal) -> tuple[Line, ...]:
    """Keap charged tax, so something was taxable: when no line says so (products whose flag
    Keap does not expose), the product lines carry it, and the ledger shows Keap's tax as tax."""
    if taxes == _ZERO or any(line.taxable for line in lines):
        return lines
    return tuple(
        replace(line, taxable=True) if line.kind is LineKind.PRODUCT else line for line in lines
    )


def canonical_contact(contact: KeapContact) -> Contact:
    full_name = f"{contact.given_name} {contact.family_name}".strip()
    name = full_name or contact.company or contact.email or f"Keap contact {contact.id}"
    return Contact(
        keap_id=contact.id,
        name=name,
        email=contact.email or None,
        company=contact.company or None,
    )


def canonical_payment_plan(plan: KeapPaymentPlan | None) -> PaymentPlan | None:
    """The plan's last scheduled payment; a 'plan' of a single payment is no plan at all."""
    if plan is None:
        return None
    if plan.items:
        return PaymentPlan(max(item.due_date for item in plan.items), len(plan.items))
    has_initial = plan.initial_payment_amount > 0
    installments = plan.number_of_payments + (1 if has_initial else 0)
    if plan.number_of_payments < 1 or installments < 2:
        return None
    step = timedelta(days=plan.days_between_payments)
    final = plan.plan_start_date + step * (plan.number_of_payments - 1)
    if has_initial and plan.initial_payment_date is not None:
        final = max(final, plan.initial_payment_date)
    return PaymentPlan(final, installments)


def _lines_for_item(item: KeapOrderItem, currency: str) -> list[Line]:
    kind = LINE_KIND_BY_ITEM_TYPE[item.item_type]
    description = item.name or (item.product.name if item.product else "") or item.description
    gross = to_cents(item.quantity * item.price_per_unit, currency)
    if kind is LineKind.DISCOUNT:
        amount = -to_cents(_discount_magnitude(item, gross), currency)
        return [_single_line(kind, description or "Discount", amount, item)]
    lines = [
        Line(
            kind=kind,
            description=description or kind.value.replace("_", " ").capitalize(),
            quantity=item.quantity,
            unit_amount=item.price_per_unit,
            line_amount=gross,
            taxable=item.taxable,
            sku=item.sku,
            keap_product_id=item.product.id if item.product else None,
        )
    ]
    if item.discount:
        amount = -to_cents(abs(item.discount), currency)
        lines.append(_single_line(LineKind.DISCOUNT, f"Discount: {description}", amount, item))
    return lines


def _discount_magnitude(item: KeapOrderItem, gross: Decimal) -> Decimal:
    # Keap does not document the sign of discount prices, so only magnitudes are trusted.
    if item.discount:
        return abs(item.discount)
    if gross:
        return abs(gross)
    if item.special is not None and item.special.discount_method.upper() == "AMOUNT":
        return abs(item.special.amount)
    return _ZERO


def _single_line(kind: LineKind, description: str, amount: Decimal, item: KeapOrderItem) -> Line:
    return Line(
        kind=kind,
        description=description,
        quantity=Decimal(1),
        unit_amount=amount,
        line_amount=amount,
        taxable=item.taxable,
        sku=item.sku,
        keap_product_id=item.product.id if item.product else None,
    )


def _check_total(order: KeapOrder, currency: str, total: Decimal, ignored: Decimal) -> None:
    if order.total is None:
        return
    expected = to_cents(order.total, currency) - ignored
    if total != expected:
        raise KeapOrderMismatch(
            f"order {order.id}: lines give {total}, Keap's total is {expected} {currency}"
        )


def _invoice_date(order: KeapOrder, zone: ZoneInfo) -> date:
    moment = order.order_time or order.creation_time
    if moment is None:
        raise KeapOrderMismatch(f"order {order.id} has neither order_time nor creation_time")
    return _local_date(moment, zone)


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _belongs_to(order: KeapOrder, payment: KeapPayment) -> bool:
    """Rows read per order carry the invoice id; sales payments carry order ids; trust either."""
    if payment.invoice_id is not None and order.invoice_id is not None:
        return payment.invoice_id == order.invoice_id
    if payment.order_ids:
        return order.id in payment.order_ids
    return True


def _paid_at_creation(
    order: KeapOrder,
    total: Decimal,
    invoice_date: date,
    payments: Sequence[KeapPayment],
    currency: str,
    zone: ZoneInfo,
) -> bool:
    if total <= 0:
        return False
    if not payments:
        return order.status is KeapOrderStatus.PAID and order.total_paid >= total
    paid_by_invoice_date = _ZERO
    for payment in payments:
        if not payment.status.is_settled or not _belongs_to(order, payment):
            continue
        if payment.paid_at is None or _local_date(payment.paid_at, zone) > invoice_date:
            continue
        amount = to_cents(abs(payment.amount), currency)
        paid_by_invoice_date += -amount if payment.is_refund else amount
    return paid_by_invoice_date >= total


def _invoice_number(order: KeapOrder) -> str:
    return order.invoice_number or order.invoice_id or order.id
