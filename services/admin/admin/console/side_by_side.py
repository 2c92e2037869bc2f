"""Sync ID's comparison: the Keap invoice (as the pipeline reads it) beside the destination
invoice, line by line, totals to the cent. Read through the one client per provider."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import zip_longest

from admin.admin_services import AdminServices
from invoicesync.clients.keap import keap_client_from_settings
from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.domain.canonical import Destination
from invoicesync.domain.keap_to_canonical import canonical_invoice_from_keap_order
from invoicesync.domain.money import to_decimal
from invoicesync.errors import InvalidInput

_CENT = Decimal("0.01")
XERO_INVOICE_LINK = "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={id}"
QBO_INVOICE_LINK = "https://app.qbo.intuit.com/app/invoice?txnId={id}"


@dataclass(frozen=True)
class SideLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class InvoiceSide:
    title: str
    number: str
    lines: tuple[SideLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    link: str = ""


@dataclass(frozen=True)
class SideBySide:
    keap: InvoiceSide | None
    destination: InvoiceSide | None
    problem: str = ""  # why one side could not be read

    @property
    def rows(self) -> list[tuple[SideLine | None, SideLine | None]]:
        left = self.keap.lines if self.keap else ()
        right = self.destination.lines if self.destination else ()
        return list(zip_longest(left, right))

    @property
    def totals_match(self) -> bool:
        return (
            self.keap is not None
            and self.destination is not None
            and self.keap.total.quantize(_CENT) == self.destination.total.quantize(_CENT)
        )


def destination_link(destination: str, destination_id: str | None) -> str:
    if not destination_id:
        return ""
    template = XERO_INVOICE_LINK if destination == Destination.XERO.value else QBO_INVOICE_LINK
    return template.format(id=destination_id)


def side_by_side(
    services: AdminServices, tenant_id: str, keap_invoice_id: str, destination_id: str | None
) -> SideBySide:
    try:
        keap = keap_side(services, tenant_id, keap_invoice_id)
    except InvalidInput as exc:
        return SideBySide(None, None, f"Keap could not show invoice {keap_invoice_id}: {exc}")
    if not destination_id:
        return SideBySide(keap, None)
    destination = services.tenants.settings(tenant_id).destination
    try:
        if destination is Destination.XERO:
            ledger = xero_side(services, tenant_id, destination_id)
        else:
            ledger = qbo_side(services, tenant_id, destination_id)
    except InvalidInput as exc:
        return SideBySide(keap, None, f"The destination invoice could not be read: {exc}")
    return SideBySide(keap, ledger)


def keap_side(services: AdminServices, tenant_id: str, keap_invoice_id: str) -> InvoiceSide | None:
    client = keap_client_from_settings(services.settings, services.redis, services.session)
    order = client.find_order_by_invoice(tenant_id, keap_invoice_id)
    if order is None:
        return None
    invoice = canonical_invoice_from_keap_order(
        order, services.tenants.settings(tenant_id), tenant_id
    )
    lines = tuple(
        SideLine(line.description, line.quantity, line.unit_amount, line.line_amount)
        for line in invoice.lines
    )
    totals = invoice.totals
    return InvoiceSide(
        "Keap", invoice.invoice_number, lines, totals.subtotal, totals.tax, totals.total
    )


def xero_side(services: AdminServices, tenant_id: str, invoice_id: str) -> InvoiceSide:
    client = xero_client_from_settings(services.settings, services.redis)
    invoice = client.get_invoice(tenant_id, invoice_id)
    lines = tuple(
        SideLine(
            str(row.get("Description", "")),
            _amount(row.get("Quantity", 1)),
            _amount(row.get("UnitAmount", 0)),
            _amount(row.get("LineAmount", 0)),
        )
        for row in invoice.get("LineItems", [])
    )
    return InvoiceSide(
        "Xero",
        str(invoice.get("InvoiceNumber", "")),
        lines,
        _amount(invoice.get("SubTotal", 0)),
        _amount(invoice.get("TotalTax", 0)),
        _amount(invoice.get("Total", 0)),
        destination_link(Destination.XERO.value, invoice_id),
    )


def qbo_side(services: AdminServices, tenant_id: str, invoice_id: str) -> InvoiceSide:
    if not invoice_id.isdigit():
        raise InvalidInput(f"{invoice_id!r} is not a QuickBooks id")
    client = qbo_client_from_settings(services.settings, services.redis)
    found = client.query(tenant_id, f"select * from Invoice where Id = '{invoice_id}'")
    if not found.get("Invoice"):
        raise InvalidInput(f"QuickBooks has no invoice {invoice_id}")
    invoice = found["Invoice"][0]
    lines = []
    for row in invoice.get("Line", []):
        detail = row.get("SalesItemLineDetail")
        if detail is not None:
            quantity = _amount(detail.get("Qty", 1))
            unit = _amount(detail.get("UnitPrice", row.get("Amount", 0)))
            lines.append(
                SideLine(str(row.get("Description", "")), quantity, unit, _amount(row["Amount"]))
            )
        elif "DiscountLineDetail" in row:
            amount = -_amount(row.get("Amount", 0))
            lines.append(
                SideLine(str(row.get("Description", "Discount")), Decimal(1), amount, amount)
            )
    tax = _amount(invoice.get("TxnTaxDetail", {}).get("TotalTax", 0))
    total = _amount(invoice.get("TotalAmt", 0))
    return InvoiceSide(
        "QuickBooks Online",
        str(invoice.get("DocNumber", "")),
        tuple(lines),
        total - tax,
        tax,
        total,
        destination_link(Destination.QBO.value, invoice_id),
    )


def _amount(value: object) -> Decimal:
    return to_decimal(value)
