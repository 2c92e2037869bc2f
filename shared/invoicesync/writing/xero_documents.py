"""The Xero invoice element a writer sends, from the canonical invoice and what the organisation
holds (contacts, tax rates, items). The xero-writer and the dry-run preview both build it here,
so a preview is the document the writer posts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicesync.clients.xero import XeroClient
from invoicesync.domain.canonical import CanonicalInvoice, Contact
from invoicesync.domain.canonical_to_xero import XeroItemRef, xero_invoice_from_canonical
from invoicesync.domain.tenant_settings import XeroSettings
from invoicesync.domain.xero_rounding import reconcile_xero_invoice

# Keap ids and emails per `where` query: keeps the URL far below common server limits.
CONTACT_LOOKUP_CHUNK = 20


@dataclass(frozen=True)
class XeroReference:
    """What the organisation holds that an invoice element depends on."""

    tax_rates: Mapping[str, Decimal]
    items: Mapping[str, XeroItemRef]


def xero_reference(client: XeroClient, tenant_id: str, settings: XeroSettings) -> XeroReference:
    """Read only: the organisation's tax rates, and its items when SKU matching is on."""
    rates = xero_tax_rates(client.tax_rates(tenant_id))
    rows = client.items(tenant_id) if settings.sku_matching else []
    return XeroReference(rates, xero_items_by_code(rows))


def xero_tax_rates(rows: Iterable[Mapping]) -> dict[str, Decimal]:
    rates = {}
    for row in rows:
        rate = row.get("EffectiveRate", row.get("DisplayTaxRate"))
        if rate is None:
            rate = sum((Decimal(str(c["Rate"])) for c in row.get("TaxComponents", [])), 0)
        rates[row["TaxType"]] = Decimal(str(rate))
    return rates


def xero_items_by_code(rows: Iterable[Mapping]) -> dict[str, XeroItemRef]:
    return {
        row["Code"]: XeroItemRef(
            row["Code"], str((row.get("SalesDetails") or {}).get("AccountCode") or "")
        )
        for row in rows
        if row.get("Code")
    }


def xero_invoice_document(
    invoice: CanonicalInvoice,
    settings: XeroSettings,
    contact_id: str,
    reference: XeroReference,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The ACCREC element PUT /Invoices gets, its totals reconciled to Keap's, and the notes
    saying what the reconciliation changed."""
    body = xero_invoice_from_canonical(invoice, settings, contact_id, reference.items)
    reconciled = reconcile_xero_invoice(body, invoice, reference.tax_rates, settings)
    return reconciled.body, reconciled.notes


def find_xero_contact_ids(
    client: XeroClient, tenant_id: str, contacts: Sequence[Contact]
) -> dict[str, str]:
    """Read only: Keap contact id → ContactID of the Xero contacts that already stand for them
    (by ContactNumber, then an unowned contact with the same email)."""
    rows: list[dict] = []
    for start in range(0, len(contacts), CONTACT_LOOKUP_CHUNK):
        clauses = []
        for contact in contacts[start : start + CONTACT_LOOKUP_CHUNK]:
            clauses.append(f'ContactNumber=="{contact.keap_id}"')
            email = (contact.email or "").strip()
            if email and '"' not in email and "\\" not in email:
                clauses.append(f'EmailAddress=="{email}"')
        rows += client.contacts_where(tenant_id, " OR ".join(clauses))
    by_number = {row.get("ContactNumber"): row for row in rows if row.get("ContactNumber")}
    resolved = {}
    for contact in contacts:
        row = by_number.get(contact.keap_id) or _unowned_with_email(rows, contact.email)
        if row is not None:
            resolved[contact.keap_id] = row["ContactID"]
    return resolved


def _unowned_with_email(rows: list[dict], email: str | None) -> dict | None:
    if not email:
        return None
    wanted = email.strip().casefold()
    for row in rows:
        if (row.get("EmailAddress") or "").strip().casefold() == wanted and not row.get(
            "ContactNumber"
        ):
            return row
    return None
