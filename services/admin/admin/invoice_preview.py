"""Dry-run preview: what the writer would post for a Keap invoice, built by the very functions
the pipeline runs (Keap → canonical → ledger document), with every rule that applied named.

Nothing is written: Keap and the ledger are only read (the contact or customer is looked up,
never created), the id map is only read, nothing is published. Processing may be off and the
settings may be unsaved ones the user is trying out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from admin.admin_services import AdminServices
from invoicesync.clients.json_body import dump_json
from invoicesync.clients.keap import KeapClient, keap_client_from_settings
from invoicesync.clients.qbo import QboFaulted, qbo_client_from_settings
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.domain.canonical import CanonicalInvoice, Destination, PaymentKind
from invoicesync.domain.canonical_to_qbo import QboMappingError
from invoicesync.domain.contact_names import qbo_display_name, xero_contact_name
from invoicesync.domain.keap_amount_checks import (
    KeapAmountMismatch,
    check_payments_cover_total_paid,
)
from invoicesync.domain.keap_order import KeapOrder, KeapPayment
from invoicesync.domain.keap_to_canonical import (
    KeapOrderMismatch,
    canonical_invoice_from_keap_order,
    canonical_payments_from_keap,
)
from invoicesync.domain.ledger_numbers import ledger_invoice_number
from invoicesync.domain.sync_rules import (
    invoice_skip_decision,
    is_held,
    payment_skip_decision,
    skip_zero_total,
)
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.errors import InvalidInput
from invoicesync.stores.id_map import IdMap
from invoicesync.writing.flow import ledger_content_hash
from invoicesync.writing.outcomes import INVOICE
from invoicesync.writing.qbo_documents import qbo_invoice_document
from invoicesync.writing.xero_documents import (
    find_xero_contact_ids,
    xero_invoice_document,
    xero_reference,
)

# The preview's stand-in for an id the ledger gives only when the writer creates the contact.
NEW_CONTACT_ID = "(new)"
MAX_NEXT = 50
_SCAN_PAGES = 20


@dataclass(frozen=True)
class PreviewLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    amount: Decimal
    account: str  # Xero AccountCode (QBO: the item's own income account)
    tax_code: str
    item: str


@dataclass(frozen=True)
class PreviewPayment:
    keap_payment_id: str
    kind: str
    date: str
    amount: Decimal
    outcome: str  # what the writer would do with it


@dataclass(frozen=True)
class InvoicePreview:
    keap_invoice_id: str
    destination: str
    action: str  # create | update | skip | cannot map
    reason: str = ""
    keap_order_id: str = ""
    invoice_number: str = ""
    contact_name: str = ""
    contact_status: str = ""  # found | to be created
    contact_id: str = ""
    invoice_date: str = ""
    due_date: str = ""
    status: str = ""
    currency: str = ""
    subtotal: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    lines: tuple[PreviewLine, ...] = ()
    payments: tuple[PreviewPayment, ...] = ()
    rules: tuple[str, ...] = ()
    document: dict[str, Any] | None = None


@dataclass
class _Rules:
    named: list[str] = field(default_factory=list)

    def add(self, rule: str) -> None:
        self.named.append(rule)


def preview_invoice(
    services: AdminServices,
    tenant_id: str,
    keap_invoice_id: str,
    settings: TenantSettings | None = None,
) -> InvoicePreview:
    """What syncing Keap invoice `keap_invoice_id` would post now; `settings` tries unsaved
    settings (the tenant's saved ones otherwise)."""
    settings = settings or services.tenants.settings(tenant_id)
    keap = _keap(services)
    order = keap.find_order_by_invoice(tenant_id, keap_invoice_id)
    if order is None:
        return InvoicePreview(
            keap_invoice_id, settings.destination.value, "skip", "not found in Keap"
        )
    return _preview_order(services, keap, tenant_id, order, settings)


def preview_next(
    services: AdminServices, tenant_id: str, count: int, settings: TenantSettings | None = None
) -> list[InvoicePreview]:
    """The next `count` Keap invoices a sync would write (created or updated), oldest first."""
    settings = settings or services.tenants.settings(tenant_id)
    keap = _keap(services)
    previews: list[InvoicePreview] = []
    for order in _orders(keap, tenant_id):
        preview = _preview_order(services, keap, tenant_id, order, settings)
        if preview.action in ("create", "update"):
            previews.append(preview)
            if len(previews) >= count:
                break
    return previews


def _keap(services: AdminServices) -> KeapClient:
    return keap_client_from_settings(services.settings, services.redis, services.session)


def _orders(keap: KeapClient, tenant_id: str) -> Iterator[KeapOrder]:
    token = None
    for _ in range(_SCAN_PAGES):
        page = keap.list_orders(tenant_id, token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return


def _preview_order(
    services: AdminServices,
    keap: KeapClient,
    tenant_id: str,
    order: KeapOrder,
    settings: TenantSettings,
) -> InvoicePreview:
    destination = settings.destination
    rules = _Rules()
    if is_held(settings):
        rules.add("processing is off: a sync now would hold this until it is switched on")
    payments = keap.list_order_payments(tenant_id, order.id)
    try:
        check_payments_cover_total_paid(order.id, order.total_paid, payments)
        invoice = canonical_invoice_from_keap_order(order, settings, tenant_id, payments)
    except (KeapAmountMismatch, KeapOrderMismatch) as exc:
        return InvoicePreview(
            order.invoice_id or order.id, destination.value, "cannot map", str(exc), order.id
        )
    _name_mapping_rules(rules, invoice, settings)
    skip = invoice_skip_decision(order, invoice, settings)
    number = ledger_invoice_number(invoice.invoice_number, settings.sync.invoice_number_prefix)
    if number != invoice.invoice_number:
        prefix = settings.sync.invoice_number_prefix
        rules.add(f"invoice number prefix {prefix!r}: Keap {invoice.invoice_number} → {number}")
    invoice = replace(invoice, invoice_number=number)
    skip = skip or skip_zero_total(invoice, settings.sync)
    action, reason = "create", ""
    if skip is not None:
        action, reason = "skip", skip.summary
        rules.add(f"skip rule: {skip.summary}")
    else:
        action, reason = _id_map_decision(services, tenant_id, invoice, destination, rules)
    base = _common(invoice, destination, action, reason, order)
    try:
        if destination is Destination.XERO:
            built = _xero(services, tenant_id, invoice, settings, rules)
        else:
            built = _qbo(services, tenant_id, invoice, settings, rules)
    except (QboMappingError, QboFaulted, InvalidInput) as exc:
        rules.add(f"the ledger document cannot be built: {exc}")
        return replace(base, action="cannot map", reason=str(exc), rules=tuple(rules.named))
    previewed_payments = _payments(order, payments, invoice, settings, rules)
    return replace(built(base), payments=previewed_payments, rules=tuple(rules.named))


def _common(
    invoice: CanonicalInvoice, destination: Destination, action: str, reason: str, order: KeapOrder
) -> InvoicePreview:
    totals = invoice.totals
    return InvoicePreview(
        keap_invoice_id=invoice.keap_invoice_id,
        destination=destination.value,
        action=action,
        reason=reason,
        keap_order_id=order.id,
        invoice_number=invoice.invoice_number,
        contact_name=invoice.contact.name,
        invoice_date=invoice.invoice_date.isoformat(),
        due_date=invoice.due_date.isoformat(),
        currency=invoice.currency,
        subtotal=totals.subtotal,
        tax=totals.tax,
        total=totals.total,
    )


def _name_mapping_rules(rules: _Rules, invoice: CanonicalInvoice, settings: TenantSettings) -> None:
    keap = settings.keap
    rules.add(f"Keap prices are tax {keap.tax_handling.value} (keap.tax_handling)")
    rules.add(f"invoice date in the Keap app's time zone {keap.timezone} (keap.timezone)")
    if invoice.paid_at_creation:
        rules.add("paid when created: due date = invoice date")
    elif invoice.payment_plan is not None:
        rules.add("payment plan: due date = the plan's final payment date")
    else:
        rules.add(f"due {settings.sync.due_date_days} days after the invoice date")
    kinds = sorted({line.kind.value for line in invoice.lines})
    rules.add("Keap lines mapped as: " + ", ".join(kinds))


def _id_map_decision(
    services: AdminServices,
    tenant_id: str,
    invoice: CanonicalInvoice,
    destination: Destination,
    rules: _Rules,
) -> tuple[str, str]:
    """The writer's first question, read only: is this invoice in the id map already?"""
    id_map = IdMap(services.redis, None, services.settings)
    mapped = id_map.get(tenant_id, destination.value, INVOICE, invoice.keap_invoice_id)
    if mapped is None:
        rules.add("not synced before: the writer creates it (adopting one with its number)")
        return "create", ""
    if mapped.content_hash in (invoice.content_hash, ledger_content_hash(invoice)):
        rules.add(f"already synced as {mapped.destination_id} with this content")
        return "skip", "already synced"
    rules.add(
        f"synced before as {mapped.destination_id}: the writer updates it, keeping its status"
    )
    return "update", ""


def _xero(
    services: AdminServices,
    tenant_id: str,
    invoice: CanonicalInvoice,
    settings: TenantSettings,
    rules: _Rules,
):
    client = xero_client_from_settings(services.settings, services.redis)
    found = find_xero_contact_ids(client, tenant_id, [invoice.contact])
    contact_id = found.get(invoice.contact.keap_id, "")
    reference = xero_reference(client, tenant_id, settings.xero)
    document, notes = xero_invoice_document(
        invoice, settings.xero, contact_id or NEW_CONTACT_ID, reference
    )
    xero = settings.xero
    rules.add(f"Xero status {xero.invoice_status.value} (xero.invoice_status)")
    rules.add(f"LineAmountTypes {document['LineAmountTypes']}: how Keap priced the lines")
    rules.add(f"taxable lines {xero.taxable_tax_type}, others {xero.zero_tax_type}")
    if xero.sku_matching:
        matched = [row["ItemCode"] for row in document["LineItems"] if row.get("ItemCode")]
        rules.add("SKU matching on: items " + (", ".join(matched) or "none matched"))
    for note in notes:
        rules.add(f"totals reconciled to Keap's: {note}")
    lines = tuple(
        PreviewLine(
            str(row.get("Description", "")),
            row.get("Quantity", Decimal(1)),
            row.get("UnitAmount", Decimal(0)),
            row.get("LineAmount", Decimal(0)),
            str(row.get("AccountCode", "")),
            str(row.get("TaxType", "")),
            str(row.get("ItemCode", "")),
        )
        for row in document["LineItems"]
    )
    contact = _contact_rule(rules, contact_id, xero_contact_name(invoice.contact, []), "contact")

    def built(base: InvoicePreview) -> InvoicePreview:
        return replace(
            base,
            lines=lines,
            document=document,
            status=str(document.get("Status", "")),
            contact_id=contact_id,
            contact_status=contact,
        )

    return built


def _qbo(
    services: AdminServices,
    tenant_id: str,
    invoice: CanonicalInvoice,
    settings: TenantSettings,
    rules: _Rules,
):
    client = qbo_client_from_settings(services.settings, services.redis)
    found: dict[str, str] = {}

    def look_up(contact) -> str:
        customer_id = client.find_customer(tenant_id, contact)
        if customer_id:
            found["id"] = customer_id
        return customer_id or NEW_CONTACT_ID

    document = qbo_invoice_document(client, tenant_id, invoice, settings.qbo, look_up)
    tax_detail = document.get("TxnTaxDetail") or {}
    if "TxnTaxCodeRef" in tax_detail:
        code = tax_detail["TxnTaxCodeRef"]["value"]
        rules.add(f"US sales tax: Keap's tax {tax_detail.get('TotalTax')} under tax code {code}")
    if "GlobalTaxCalculation" in document:
        rules.add(f"GlobalTaxCalculation {document['GlobalTaxCalculation']} (non-US company)")
    if settings.qbo.sku_matching:
        rules.add("SKU matching on: a line whose SKU is an item's Sku uses that item")
    lines = []
    for row in document["Line"]:
        detail = row.get("SalesItemLineDetail")
        if detail is not None:
            lines.append(
                PreviewLine(
                    str(row.get("Description", "")),
                    detail.get("Qty", Decimal(1)),
                    detail.get("UnitPrice", row["Amount"]),
                    row["Amount"],
                    "",
                    str(detail["TaxCodeRef"]["value"]),
                    str(detail["ItemRef"]["value"]),
                )
            )
        else:
            amount = -row["Amount"]
            lines.append(
                PreviewLine(str(row.get("Description", "")), Decimal(1), amount, amount, "", "", "")
            )
    customer_id = found.get("id", "")
    contact = _contact_rule(rules, customer_id, qbo_display_name(invoice.contact), "customer")

    def built(base: InvoicePreview) -> InvoicePreview:
        return replace(
            base,
            lines=tuple(lines),
            document=document,
            status="Open",
            contact_id=customer_id,
            contact_status=contact,
        )

    return built


def _contact_rule(rules: _Rules, found_id: str, name: str, what: str) -> str:
    if found_id:
        rules.add(f"{what} found: {found_id}")
        return "found"
    rules.add(f"{what} to be created as {name!r} (nothing in the ledger stands for it yet)")
    return "to be created"


def _payments(
    order: KeapOrder,
    payments: list[KeapPayment],
    invoice: CanonicalInvoice,
    settings: TenantSettings,
    rules: _Rules,
) -> tuple[PreviewPayment, ...]:
    by_id = {payment.id: payment for payment in payments}
    previewed = []
    paid_before = Decimal(0)
    tenant_id = invoice.tenant_id
    for payment in canonical_payments_from_keap(order, payments, settings, tenant_id):
        skip = payment_skip_decision(
            by_id[payment.keap_payment_id], payment, invoice.totals.total, paid_before, settings
        )
        if skip is not None:
            outcome = f"skipped: {skip.summary}"
            rules.add(f"payment {payment.keap_payment_id}: skip rule {skip.reason}")
        else:
            signed = payment.amount if payment.kind is PaymentKind.PAYMENT else -payment.amount
            paid_before += signed
            outcome = (
                "applied to the invoice once it takes payments"
                if payment.kind is PaymentKind.PAYMENT
                else "recorded as a refund"
            )
        previewed.append(
            PreviewPayment(
                payment.keap_payment_id,
                payment.kind.value,
                payment.payment_date.isoformat(),
                payment.amount,
                outcome,
            )
        )
    return tuple(previewed)


def preview_json(preview: InvoicePreview) -> dict[str, Any]:
    """The preview as the API answers it; amounts stay Decimal (written as exact numbers)."""
    return {
        "keap_invoice_id": preview.keap_invoice_id,
        "keap_order_id": preview.keap_order_id,
        "destination": preview.destination,
        "action": preview.action,
        "reason": preview.reason,
        "invoice_number": preview.invoice_number,
        "contact": {
            "name": preview.contact_name,
            "status": preview.contact_status,
            "id": preview.contact_id,
        },
        "invoice_date": preview.invoice_date,
        "due_date": preview.due_date,
        "status": preview.status,
        "currency": preview.currency,
        "totals": {"subtotal": preview.subtotal, "tax": preview.tax, "total": preview.total},
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "amount": line.amount,
                "account": line.account,
                "tax_code": line.tax_code,
                "item": line.item,
            }
            for line in preview.lines
        ],
        "payments": [
            {
                "keap_payment_id": p.keap_payment_id,
                "kind": p.kind,
                "date": p.date,
                "amount": p.amount,
                "outcome": p.outcome,
            }
            for p in preview.payments
        ],
        "rules": list(preview.rules),
        "document": preview.document,
        "written": False,
    }


def plain_quantity(value: Decimal) -> str:
    """A quantity as people write it: 2, 1.5, 0.3333, never 2.0 or 2.0000."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def preview_text(preview: InvoicePreview) -> str:
    """The readable table the CLI prints."""
    out = [
        f"Keap invoice {preview.keap_invoice_id} → {preview.destination}: {preview.action}"
        + (f" ({preview.reason})" if preview.reason else ""),
        f"  number {preview.invoice_number}   dated {preview.invoice_date}   due "
        f"{preview.due_date}   status {preview.status}   {preview.currency}",
        f"  contact {preview.contact_name} ({preview.contact_status}"
        + (f" {preview.contact_id})" if preview.contact_id else ")"),
        "  lines:",
    ]
    for line in preview.lines:
        out.append(
            f"    {line.description[:30]:<30} {plain_quantity(line.quantity):>6} x "
            f"{line.unit_amount:>10} = {line.amount:>10}  account {line.account or '-'}  "
            f"tax {line.tax_code or '-'}  item {line.item or '-'}"
        )
    out.append(f"  subtotal {preview.subtotal}   tax {preview.tax}   total {preview.total}")
    for payment in preview.payments:
        out.append(
            f"  {payment.kind} {payment.keap_payment_id} {payment.date} {payment.amount}: "
            f"{payment.outcome}"
        )
    out.append("  rules:")
    out.extend(f"    - {rule}" for rule in preview.rules)
    out.append("  nothing was written")
    return "\n".join(out)


def indented_json(value: Any, depth: int = 0) -> str:
    """JSON for people: indented, every amount with exactly the digits the writer sends."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(str(k))}: {indented_json(v, depth + 1)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list | tuple) and value:
        items = [inner + indented_json(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return dump_json(value)
