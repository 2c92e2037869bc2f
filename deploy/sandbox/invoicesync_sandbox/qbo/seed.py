"""A new company's starting books: accounts, items, tax codes and rates, preferences, info;
and, on request, the history of invoices a company that has traded for a while holds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .operations import create_entity
from .store import QboCompany
from .writes import WriteContext

_CURRENCY = {"US": "USD", "GB": "GBP", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "IE": "EUR"}
_UTC_OFFSET_MINUTES = {"US": -480, "CA": -300, "AU": 600, "NZ": 720}

_ACCOUNTS = [
    ("Services", "Income", "ServiceFeeIncome", "Revenue"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("Shipping Income", "Income", "OtherPrimaryIncome", "Revenue"),
    ("Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("Checking", "Bank", "Checking", "Asset"),
    ("Stripe Clearing", "Bank", "Checking", "Asset"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
]

# Non-US tax: (code name, rate name, percent). UK-style codes; other countries reuse them.
_VAT_CODES = [
    ("20.0% S", "20.0% S", Decimal("20")),
    ("5.0% R", "5.0% R", Decimal("5")),
    ("0.0% Z", "0.0% Z", Decimal("0")),
    ("Exempt", "Exempt", Decimal("0")),
]


def new_company(realm_id: str, name: str, country: str, now: datetime) -> QboCompany:
    country = (country or "US").upper()
    company = QboCompany(
        realm_id=realm_id,
        name=name,
        country=country,
        utc_offset_minutes=_UTC_OFFSET_MINUTES.get(country, 0),
    )
    currency = _CURRENCY.get(country, "USD")
    accounts = {
        acc_name: _add(company, "Account", _account(acc_name, kind, sub, cls, currency), now)
        for acc_name, kind, sub, cls in _ACCOUNTS
    }
    tax_code_ids = _seed_us_tax(company, now) if company.is_us else _seed_vat(company, now)
    _seed_items(company, accounts, tax_code_ids, now)
    _add_singleton(company, "Preferences", _preferences(company, currency), now)
    _add_singleton(company, "CompanyInfo", _company_info(company), now)
    return company


def _add(company: QboCompany, entity: str, body: dict, now: datetime) -> dict:
    body = {"Id": company.new_id(), "SyncToken": "0", "domain": "QBO", "sparse": False, **body}
    return company.put(entity, body, now, created=True)


def _add_singleton(company: QboCompany, entity: str, body: dict, now: datetime) -> None:
    body = {"Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False, **body}
    company.put(entity, body, now, created=True)


def _account(name: str, kind: str, sub: str, classification: str, currency: str) -> dict:
    return {
        "Name": name,
        "FullyQualifiedName": name,
        "AccountType": kind,
        "AccountSubType": sub,
        "Classification": classification,
        "Active": True,
        "SubAccount": False,
        "CurrentBalance": Decimal("0"),
        "CurrencyRef": {"value": currency},
    }


def _seed_us_tax(company: QboCompany, now: datetime) -> dict[str, str]:
    """US: the TAX/NON pseudo codes on lines plus one real code for TxnTaxCodeRef."""
    code = add_us_sales_tax(company, "California", Decimal("8"), now)
    for pseudo, taxable in (("TAX", True), ("NON", False)):
        body = _tax_code(pseudo, [], taxable=taxable)
        body.update({"Id": pseudo, "SyncToken": "0", "domain": "QBO", "sparse": False})
        company.put("TaxCode", body, now, created=True)
    return {"taxable": "TAX", "exempt": "NON", "txn": code["Id"]}


def add_us_sales_tax(
    company: QboCompany, jurisdiction: str, percent: Decimal, now: datetime
) -> dict:
    """One more US sales tax jurisdiction: its agency, the agency's rate, and the TaxCode an
    invoice names in `TxnTaxDetail.TxnTaxCodeRef`. A US company collecting in several states
    has one such code per agency, and the code chosen decides which agency the tax is owed to
    (qbo.md §2.8 [DOC-TAX, XSD]: "One tax code for the whole transaction: TxnTaxDetail.
    TxnTaxCodeRef → a TaxCode Id (US only)"; XSD TaxRate carries `AgencyRef`)."""
    agency = _add(
        company,
        "TaxAgency",
        {"DisplayName": f"{jurisdiction} Tax Agency", "TaxTrackedOnSales": True},
        now,
    )
    rate = _tax_rate(jurisdiction, percent)
    rate["AgencyRef"] = {"value": agency["Id"], "name": agency["DisplayName"]}
    rate = _add(company, "TaxRate", rate, now)
    return _add(company, "TaxCode", _tax_code(jurisdiction, [rate], taxable=True), now)


def _seed_vat(company: QboCompany, now: datetime) -> dict[str, str]:
    ids = {}
    for code_name, rate_name, percent in _VAT_CODES:
        rate = _add(company, "TaxRate", _tax_rate(rate_name, percent), now)
        code = _add(company, "TaxCode", _tax_code(code_name, [rate], taxable=True), now)
        ids[code_name] = code["Id"]
    return {"taxable": ids["20.0% S"], "exempt": ids["Exempt"], "zero": ids["0.0% Z"]}


def _tax_rate(name: str, percent: Decimal) -> dict:
    return {
        "Name": name,
        "Description": name,
        "RateValue": percent,
        "Active": True,
        "SpecialTaxType": "NONE",
        "DisplayType": "ReadOnly",
    }


def _tax_code(name: str, rates: list[dict], *, taxable: bool) -> dict:
    details = [
        {
            "TaxRateRef": {"value": r["Id"], "name": r["Name"]},
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 0,
        }
        for r in rates
    ]
    return {
        "Name": name,
        "Description": name,
        "Active": True,
        "Hidden": False,
        "Taxable": taxable,
        "TaxGroup": bool(rates),
        "SalesTaxRateList": {"TaxRateDetail": details},
        "PurchaseTaxRateList": {"TaxRateDetail": []},
        "TaxCodeConfigType": "SYSTEM_GENERATED",
    }


def _seed_items(
    company: QboCompany, accounts: dict[str, dict], tax: dict[str, str], now: datetime
) -> None:
    services = accounts["Services"]["Id"]
    product = accounts["Sales of Product Income"]["Id"]
    shipping = accounts["Shipping Income"]["Id"]
    items = [
        ("Services", "Service", None, services, Decimal("0"), False),
        ("Taxable Product", "NonInventory", None, product, Decimal("0"), True),
        ("Non-taxable Product", "NonInventory", None, product, Decimal("0"), False),
        ("Shipping", "Service", None, shipping, Decimal("0"), False),
        ("Coaching Session", "Service", "COACH-60", services, Decimal("150"), False),
        ("Workbook", "NonInventory", "BOOK-01", product, Decimal("24.99"), True),
        ("Membership", "Service", "MEMBER-12", services, Decimal("49"), False),
    ]
    for name, kind, sku, account_id, price, taxable in items:
        body = {
            "Name": name,
            "FullyQualifiedName": name,
            "Type": kind,
            "Active": True,
            "UnitPrice": price,
            "IncomeAccountRef": {"value": account_id},
            "Taxable": taxable if company.is_us else None,
        }
        if sku:
            body["Sku"] = sku
        if not company.is_us:
            del body["Taxable"]
            code = tax["taxable"] if taxable else tax["zero"]
            body["SalesTaxCodeRef"] = {"value": code}
        _add(company, "Item", body, now)


def _preferences(company: QboCompany, currency: str) -> dict:
    return {
        "SalesFormsPrefs": {
            "CustomTxnNumbers": False,
            "AllowDiscount": True,
            "AllowShipping": True,
            "AutoApplyCredit": True,
        },
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": company.is_us},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": currency}},
    }


def _company_info(company: QboCompany) -> dict:
    address = {"Line1": "1 Sandbox Way", "City": "Localhost", "Country": company.country}
    return {
        "CompanyName": company.name,
        "LegalName": company.name,
        "Country": company.country,
        "CompanyAddr": address,
        "LegalAddr": address,
        "Email": {"Address": "books@example.com"},
        "SupportedLanguages": "en",
        "FiscalYearStartMonth": "January",
    }


# The numbers a real company's history holds: QBO's own sequence starts at 1001 (the
# sample companies Intuit hands developers number their invoices from 1001 up), and
# companies that switched on custom numbers often began at 1. Keap invoice ids meet both.
HISTORY_DOC_NUMBERS = ("1", "2", "3", *(str(n) for n in range(1001, 1011)))


def add_invoice_history(company: QboCompany, now: datetime) -> list[dict]:
    """Invoices the company raised itself before any integration: no InvoiceSync marker in
    their PrivateNote, numbers from `HISTORY_DOC_NUMBERS`; QBO's sequence continues after."""
    ctx = WriteContext(now)
    customer = create_entity(company, "Customer", {"DisplayName": "Walk-in Customer"}, ctx)
    item = next(i for i in company.all("Item") if i["Name"] == "Services")
    made = []
    for number in HISTORY_DOC_NUMBERS:
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal("75.00"),
            "Description": f"Consultation (invoice {number})",
            "SalesItemLineDetail": {
                "ItemRef": {"value": item["Id"]},
                "Qty": Decimal("1"),
                "UnitPrice": Decimal("75.00"),
                "TaxCodeRef": {"value": "NON" if company.is_us else _zero_code(company)},
            },
        }
        body = {
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": number,
            "PrivateNote": "Raised in QuickBooks",
            "Line": [line],
        }
        if not company.is_us:
            body["GlobalTaxCalculation"] = "TaxExcluded"
        made.append(create_entity(company, "Invoice", body, ctx))
    company.next_doc_number = max(company.next_doc_number, 1 + max(map(int, HISTORY_DOC_NUMBERS)))
    return made


def _zero_code(company: QboCompany) -> str:
    return next(c["Id"] for c in company.all("TaxCode") if c["Name"] == "0.0% Z")
