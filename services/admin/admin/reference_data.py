"""A tenant's own lists (Xero accounts and tax rates, QBO items and tax codes) that its settings
must name."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

import redis

from invoicesync.clients.provider_http import ProviderHttp
from invoicesync.clients.qbo import forget_qbo_reference_data
from invoicesync.clients.xero import remember_reference_data
from invoicesync.domain.canonical import Destination
from invoicesync.domain.canonical_to_qbo import (
    US_PSEUDO_TAX_CODES,
    QboMappingError,
    us_transaction_tax_code,
)
from invoicesync.domain.tenant_settings import TenantSettings

QBO_MINOR_VERSION = "75"
QBO_PAGE = 1000


class ReferenceData(Protocol):
    def accounts(self) -> set[str]: ...

    def tax_rates(self) -> set[str]: ...

    def items(self) -> set[str]: ...

    def tax_codes(self) -> dict[str, str]:
        """QBO: the company's TaxCode Ids with their names (Xero settings name tax types)."""
        ...

    def us_company(self) -> bool: ...

    def labels(self) -> dict[str, dict[str, str]]:
        """Per list ("accounts", "tax_rates", "items"): each value with the words a person
        picks it by ("200 — Sales", "OUTPUT — Tax on Sales", an item's name)."""
        ...


def labelled(code: str, name: str) -> str:
    return f"{code} — {name}" if name and name != code else code


class XeroReferenceData:
    """Account codes, tax types and item codes of one Xero organisation, read afresh (a
    bookkeeper may just have added the rate they pick) and kept in the writer's cache."""

    def __init__(
        self,
        http: ProviderHttp,
        api_base: str,
        tenant_id: str,
        xero_tenant_id: str,
        cache: redis.Redis | None = None,
    ):
        self._http = http
        self._base = f"{api_base}/api.xro/2.0"
        self._tenant_id = tenant_id
        self._headers = {"xero-tenant-id": xero_tenant_id, "Accept": "application/json"}
        self._cache = cache

    def _list(self, path: str, collection: str, key: str) -> set[str]:
        return set(self._named(path, collection, key))

    def _named(self, path: str, collection: str, key: str) -> dict[str, str]:
        response = self._http.request(
            "GET", f"{self._base}/{path}", self._tenant_id, headers=self._headers
        )
        rows = response.json(parse_float=Decimal).get(collection, [])
        if self._cache is not None:
            remember_reference_data(self._cache, self._tenant_id, collection, rows)
        return {
            str(row[key]): labelled(str(row[key]), str(row.get("Name") or ""))
            for row in rows
            if row.get(key)
        }

    def labels(self) -> dict[str, dict[str, str]]:
        return {
            "accounts": self._named("Accounts", "Accounts", "Code"),
            "tax_rates": self._named("TaxRates", "TaxRates", "TaxType"),
            "items": self._named("Items", "Items", "Code"),
        }

    def accounts(self) -> set[str]:
        return self._list("Accounts", "Accounts", "Code")

    def tax_rates(self) -> set[str]:
        return self._list("TaxRates", "TaxRates", "TaxType")

    def items(self) -> set[str]:
        return self._list("Items", "Items", "Code")

    def tax_codes(self) -> dict[str, str]:
        return {}

    def us_company(self) -> bool:
        return False


class QboReferenceData:
    """Item ids and tax codes of one QuickBooks Online company (accounts are not checked), read
    afresh; the lists the writer keeps are dropped, so it too reads what the settings name."""

    def __init__(
        self,
        http: ProviderHttp,
        api_base: str,
        tenant_id: str,
        realm_id: str,
        cache: redis.Redis | None = None,
    ):
        self._http = http
        self._company = f"{api_base}/v3/company/{realm_id}"
        self._url = f"{self._company}/query"
        self._realm_id = realm_id
        self._tenant_id = tenant_id
        self._cache = cache

    def _get(self, url: str, params: dict[str, str]) -> dict:
        response = self._http.request(
            "GET",
            url,
            self._tenant_id,
            params={**params, "minorversion": QBO_MINOR_VERSION},
            headers={"Accept": "application/json"},
        )
        if self._cache is not None:
            forget_qbo_reference_data(self._cache, self._tenant_id)
        return response.json()

    def tax_codes(self) -> dict[str, str]:
        """Active TaxCodes (a company has a few dozen at most: one page)."""
        query = f"select * from TaxCode maxresults {QBO_PAGE}"
        rows = self._get(self._url, {"query": query}).get("QueryResponse", {}).get("TaxCode", [])
        return {str(row["Id"]): str(row.get("Name", "")) for row in rows if row.get("Id")}

    def us_company(self) -> bool:
        """US companies tax a whole invoice under one code (qbo.md §2.8, CompanyInfo.Country)."""
        info = self._get(f"{self._company}/companyinfo/{self._realm_id}", {})
        return str(info.get("CompanyInfo", {}).get("Country") or "US").upper() == "US"

    def accounts(self) -> set[str]:
        return set()

    def tax_rates(self) -> set[str]:
        return set()

    def items(self) -> set[str]:
        return set(self._item_names())

    def _item_names(self) -> dict[str, str]:
        found: dict[str, str] = {}
        start = 1
        while True:
            query = f"select Id, Name from Item startposition {start} maxresults {QBO_PAGE}"
            rows = self._get(self._url, {"query": query}).get("QueryResponse", {}).get("Item", [])
            found |= {str(row["Id"]): str(row.get("Name") or row["Id"]) for row in rows}
            if len(rows) < QBO_PAGE:
                return found
            start += QBO_PAGE

    def labels(self) -> dict[str, dict[str, str]]:
        codes = {code: labelled(code, name) for code, name in self.tax_codes().items()}
        return {"accounts": {}, "tax_rates": codes, "items": self._item_names()}


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
        errors.update(_qbo_tax_code_errors(settings, reference))
    return errors


def _qbo_tax_code_errors(
    settings: TenantSettings, reference: ReferenceData
) -> dict[str, list[str]]:
    """Codes must be the company's own; a US company collecting for several agencies must have
    its code chosen, as the code decides which agency QBO books the tax to."""
    errors: dict[str, list[str]] = {}
    codes = reference.tax_codes()
    us_company = reference.us_company()
    if us_company:
        codes = {code: name for code, name in codes.items() if code not in US_PSEUDO_TAX_CODES}
    for name in ("tax_code_id", "non_taxable_tax_code_id"):
        value = getattr(settings.qbo, name)
        if value and value not in codes:
            errors[f"qbo.{name}"] = [f"{value!r} is not one of the company's sales tax codes"]
    if us_company and "qbo.tax_code_id" not in errors:
        try:
            us_transaction_tax_code(settings.qbo.tax_code_id, codes)
        except QboMappingError:
            names = ", ".join(sorted(codes.values()))
            errors["qbo.tax_code_id"] = [
                f"required: the company collects sales tax for several agencies ({names}); "
                "choose the tax code whose agency Keap's sales tax is owed to"
            ]
    return errors
