"""QBO assumptions checked read-only through the project's QBO client: every query shape the
client sends runs without a Fault, and the company settings that steer tax and numbering read
(reference/qbo.md §2.4, §2.7, §2.8, §4, gotchas 2, 10 and 12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from admin.smoke.results import CheckResult, failed, guarded, passed
from invoicesync.clients.qbo import QboClient, quoted

COMPANY = "qbo CompanyInfo country"
PREFERENCES = "qbo Preferences (custom txn numbers, multicurrency, sales tax)"
PROBE_NUMBER = "SMOKE-0"
PROBE_EMAIL = "smoke@invoicesync.invalid"
PROBE_NAME = "InvoiceSync smoke probe"


def _query_probes(client: QboClient, tenant_id: str) -> dict[str, Callable[[], int]]:
    """One probe per query shape in clients/qbo.py (the customer lookups are private there, so
    their statements are sent as it sends them); each answers how many rows came back."""

    def customers(condition: str) -> Callable[[], int]:
        statement = f"select * from Customer where {condition} and Active in (true, false)"
        return lambda: len(client.query(tenant_id, statement).get("Customer") or [])

    return {
        "Invoice where DocNumber =": lambda: int(
            client.find_invoice_by_doc_number(tenant_id, PROBE_NUMBER) is not None
        ),
        "Invoice where DocNumber in (...) maxresults": lambda: len(
            client.find_invoices_by_doc_numbers(tenant_id, [PROBE_NUMBER, "SMOKE-1"])
        ),
        "Customer where PrimaryEmailAddr = ... and Active in": customers(
            f"PrimaryEmailAddr = {quoted(PROBE_EMAIL)}"
        ),
        "Customer where DisplayName = ... and Active in": customers(
            f"DisplayName = {quoted(PROBE_NAME)}"
        ),
        "Payment where PaymentRefNum =": lambda: int(
            client.find_payment_by_ref(tenant_id, PROBE_NUMBER) is not None
        ),
        "Payment where Id in (...) maxresults": lambda: len(client.payment_refs(tenant_id, ["0"])),
        "select *, Sku from Item": lambda: len(client.items(tenant_id)),
        "TaxCode": lambda: len(client.tax_codes(tenant_id)),
        "TaxRate (sales rates per code)": lambda: len(client.sales_tax_rates(tenant_id)),
        "Account": lambda: len(client.accounts(tenant_id)),
    }


def qbo_checks(client: QboClient, tenant_id: str) -> list[CheckResult]:
    """Every read-only QBO check, in the order they are printed."""
    # Read afresh, not from the writer's hour-long reference cache.
    client.forget_reference_data(tenant_id)
    results = [guarded(COMPANY, lambda: company_country(client, tenant_id))]
    results.append(guarded(PREFERENCES, lambda: preferences_read(client, tenant_id)))
    for shape, probe in _query_probes(client, tenant_id).items():
        results.append(_query_runs(f"qbo query {shape}", probe))
    return results


def _query_runs(name: str, probe: Callable[[], int]) -> CheckResult:
    return guarded(name, lambda: passed(name, f"no fault, {probe()} rows"))


def company_country(client: QboClient, tenant_id: str) -> CheckResult:
    company = client.company(tenant_id)
    model = "US sales tax (TAX/NON)" if company.us_tax_model else "per-line tax codes"
    return passed(COMPANY, f"{company.name}: country {company.country}, so {model}")


def preferences_read(client: QboClient, tenant_id: str) -> CheckResult:
    rows = client.query(tenant_id, "select * from Preferences").get("Preferences") or []
    if not rows:
        return failed(PREFERENCES, "the company answered no Preferences")
    prefs: dict[str, Any] = rows[0]
    sales = prefs.get("SalesFormsPrefs") or {}
    currency = prefs.get("CurrencyPrefs") or {}
    tax = prefs.get("TaxPrefs") or {}
    home = (currency.get("HomeCurrency") or {}).get("value")
    return passed(
        PREFERENCES,
        f"CustomTxnNumbers {sales.get('CustomTxnNumbers')}, "
        f"MultiCurrencyEnabled {currency.get('MultiCurrencyEnabled')} (home {home}), "
        f"PartnerTaxEnabled {tax.get('PartnerTaxEnabled')}, "
        f"UsingSalesTax {tax.get('UsingSalesTax')}",
    )
