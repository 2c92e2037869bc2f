"""The QBO invoice a writer sends, from the canonical invoice and what the company holds (its
tax model, items, tax codes and rates, the customer). The qbo-writer and the dry-run preview
both build it here, so a preview is the document the writer posts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from invoicesync.clients.qbo import QboClient
from invoicesync.domain.canonical import CanonicalInvoice, Contact
from invoicesync.domain.canonical_to_qbo import (
    QboItemRef,
    QboTaxRateRef,
    qbo_invoice_from_canonical,
    us_transaction_tax_code,
)
from invoicesync.domain.tenant_settings import QboSettings


def qbo_invoice_document(
    qbo: QboClient,
    tenant_id: str,
    invoice: CanonicalInvoice,
    settings: QboSettings,
    customer_for: Callable[[Contact], str],
) -> dict[str, Any]:
    """The body POST /invoice gets. `customer_for` gives the Customer Id (the writer finds or
    creates it; a preview only looks). Raises QboMappingError when the settings cannot map it,
    QboFaulted when QBO refuses a read or the customer."""
    us_company = qbo.company(tenant_id).us_tax_model
    items_by_sku: dict[str, QboItemRef] = {}
    if settings.sku_matching:
        for item in qbo.items(tenant_id):
            if item.sku:
                items_by_sku.setdefault(item.sku.strip(), QboItemRef(item.id, item.name))
    vat_rates: list[QboTaxRateRef] = []
    if not us_company and settings.tax_code_id:
        vat_rates = qbo.sales_tax_rates(tenant_id).get(settings.tax_code_id, [])
    if us_company and not settings.tax_code_id:
        # QBO honours Keap's TotalTax only beside a TxnTaxCodeRef (else AST recomputes it);
        # the code names the agency, so it is never guessed among several.
        code = us_transaction_tax_code("", qbo.tax_codes(tenant_id))
        settings = replace(settings, tax_code_id=code)
    customer_id = customer_for(invoice.contact)
    return qbo_invoice_from_canonical(
        invoice, settings, customer_id, items_by_sku, us_company, vat_rates
    )
