"""A tenant's own lists (Xero accounts and tax rates, QBO items) that its settings must name."""

from __future__ import annotations

from typing import Protocol

from invoicesync.clients.provider_http import ProviderHttp
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import TenantSettings

QBO_MINOR_VERSION = "75"
QBO_PAGE = 1000


class ReferenceData(Protocol):
    def accounts(self) -> set[str]: ...

    def tax_rates(self) -> set[str]: ...

    def items(self) -> set[str]: ...


class XeroReferenceData:
    """Account codes, tax types and item codes of one Xero organisation."""

    def __init__(self, http: ProviderHttp, api_base: str, tenant_id: str, xero_tenant_id: str):
        self._http = http
        self._base = f"{api_base}/api.xro/2.0"
        self._tenant_id = tenant_id
        self._headers = {"xero-tenant-id": xero_tenant_id, "Accept": "application/json"}

    def _list(self, path: str, collection: str, key: str) -> set[str]:
        response = self._http.request(
            "GET", f"{self._base}/{path}", self._tenant_id, headers=self._headers
        )
        return {str(row[key]) for row in response.json().get(collection, []) if row.get(key)}

    def accounts(self) -> set[str]:
        return self._list("Accounts", "Accounts", "Code")

    def tax_rates(self) -> set[str]:
        return self._list("TaxRates", "TaxRates", "TaxType")

    def items(self) -> set[str]:
        return self._list("Items", "Items", "Code")


class QboReferenceData:
    """Item ids of one QuickBooks Online company (accounts and tax codes are not checked)."""

    def __init__(self, http: ProviderHttp, api_base: str, tenant_id: str, realm_id: str):
        self._http = http
        self._url = f"{api_base}/v3/company/{realm_id}/query"
        self._tenant_id = tenant_id

    def accounts(self) -> set[str]:
        return set()

    def tax_rates(self) -> set[str]:
        return set()

    def items(self) -> set[str]:
        found: set[str] = set()
        start = 1
        while True:
            query = f"select Id from Item startposition {start} maxresults {QBO_PAGE}"
            response = self._http.request(
                "GET",
                self._url,
                self._tenant_id,
                params={"query": query, "minorversion": QBO_MINOR_VERSION},
                headers={"Accept": "application/json"},
            )
            rows = response.json().get("QueryResponse", {}).get("Item", [])
            found.update(str(row["Id"]) for row in rows if row.get("Id"))
            if len(rows) < QBO_PAGE:
                return found
            start += QBO_PAGE


def reference_errors(settings: TenantSettings, reference: ReferenceData) -> dict[str, list[str]]:
    """Each setting that names something the tenant's ledger does not have, by dotted field."""
    errors: dict[str, list[str]] = {}
    if settings.destination is Destination.XERO:
        xero = settings.xero
        codes = reference.accounts()
        for name in (
            "default_account_code",
            "discount_account_code",
            "finance_charge_account_code",
            "shipping_account_code",
            "payment_account_code",
            "rounding_account_code",
        ):
            value = getattr(xero, name)
            if value and value not in codes:
                errors[f"xero.{name}"] = [f"{value!r} is not one of the organisation's accounts"]
        tax_types = reference.tax_rates()
        for name in ("taxable_tax_type", "zero_tax_type"):
            value = getattr(xero, name)
            if value not in tax_types:
                errors[f"xero.{name}"] = [f"{value!r} is not one of the organisation's tax rates"]
    else:
        items = reference.items()
        for name in (
            "taxable_item_id",
            "non_taxable_item_id",
            "shipping_item_id",
            "finance_charge_item_id",
        ):
            value = getattr(settings.qbo, name)
            if value and value not in items:
                errors[f"qbo.{name}"] = [f"{value!r} is not one of the company's items"]
    return errors
