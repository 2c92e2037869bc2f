"""Invoice, CreditMemo and RefundReceipt as QBO stores them: lines, tax, totals, DocNumber."""

from __future__ import annotations

from decimal import Decimal

from . import transaction_math as math
from .entity_rules import check_doc_number_free
from .faults import business_validation, invalid_value, required_param
from .payments import applied_amount
from .store import QboCompany
from .wire import company_time
from .writes import WriteContext, customer_ref, ref_value, require_ref

SALES_FORMS = ("Invoice", "CreditMemo", "RefundReceipt")
READ_ONLY = frozenset(
    {
        "TotalAmt",
        "Balance",
        "HomeTotalAmt",
        "HomeBalance",
        "LinkedTxn",
        "RemainingCredit",
        "InvoiceLink",
        "DeliveryInfo",
    }
)
_LINE_TYPES = ("SalesItemLineDetail", "GroupLineDetail", "DescriptionOnly", "DiscountLineDetail")
DOC_NUMBER_MAX = 21


def tax_rates_by_code(company: QboCompany) -> dict[str, tuple[math.TaxRateInfo, ...]]:
    rates = {r["Id"]: r for r in company.all("TaxRate")}
    table = {}
    for code in company.all("TaxCode"):
        details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        table[code["Id"]] = tuple(
            math.TaxRateInfo(r["Id"], r["Name"], Decimal(str(r["RateValue"])))
            for d in details
            if (r := rates.get(d["TaxRateRef"]["value"])) is not None
        )
    return table


def prepare_sales_form(
    company: QboCompany, entity: str, body: dict, ctx: WriteContext, previous: dict | None = None
) -> dict:
    """Validate a sales form and fill in everything QBO computes; raises QboFault."""
    customer = require_ref(company, body, "CustomerRef", "Customer", ctx)
    if entity == "RefundReceipt":
        require_ref(company, body, "DepositToAccountRef", "Account", ctx)
    lines = _checked_lines(company, body.get("Line"), ctx)
    _number_lines(lines, previous)
    form = dict(body)
    form["CustomerRef"] = customer_ref(customer)
    totals = _totals(company, form, lines)
    form["Line"] = [*lines, _subtotal_line(totals.subtotal)]
    form["TxnTaxDetail"] = _txn_tax_detail(company, form, totals)
    form["TotalAmt"] = totals.total
    form["DocNumber"] = _doc_number(company, entity, form, ctx, previous)
    today = company_time(ctx.now, company.utc_offset_minutes)[:10]
    form.setdefault("TxnDate", today)
    form.setdefault("CurrencyRef", {"value": company.home_currency()})
    form.setdefault("PrivateNote", "")
    form.setdefault("LinkedTxn", [])
    if not company.is_us:
        form.setdefault("GlobalTaxCalculation", "TaxExcluded")
    _set_balance(company, entity, form, previous)
    if entity == "Invoice":
        form.setdefault("DueDate", form["TxnDate"])
        form.setdefault("ApplyTaxAfterDiscount", False)
        form.setdefault("EmailStatus", "NotSet")
        form.setdefault("PrintStatus", "NotSet")
    return form


def _checked_lines(company: QboCompany, raw: object, ctx: WriteContext) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise required_param("Line")
    lines = []
    for given in raw:
        if not isinstance(given, dict):
            raise invalid_value("Line", "Each line must be an object")
        if given.get("DetailType") == "SubTotalLineDetail":
            continue  # QBO recomputes the subtotal line; an echoed one is dropped
        if given.get("DetailType") not in _LINE_TYPES:
            raise invalid_value("Line.DetailType", f"Invalid DetailType: {given.get('DetailType')}")
        line = dict(given)
        if line["DetailType"] in math.ITEM_DETAILS:
            line["Amount"] = math.amount_of(line.get("Amount"), "Line.Amount")
            _check_item(company, line, ctx)
            math.check_line_amount(line)
        lines.append(line)
    return lines


def _check_item(company: QboCompany, line: dict, ctx: WriteContext) -> None:
    detail = dict(line.get(line["DetailType"]) or {})
    if ref_value(detail, "ItemRef") is None:
        default = next((i for i in company.all("Item") if i["Name"] == "Services"), None)
        if default is not None:
            detail["ItemRef"] = {"value": default["Id"], "name": default["Name"]}
    item = require_ref(company, detail, "ItemRef", "Item", ctx)
    detail["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
    code = math.detail_tax_code(detail)
    if company.is_us and code is not None and code not in math.US_PSEUDO_CODES:
        raise invalid_value("TaxCodeRef", f"Invalid tax code {code}: US lines use TAX or NON")
    line[line["DetailType"]] = detail


def _number_lines(lines: list[dict], previous: dict | None) -> None:
    known = {str(line.get("Id")) for line in (previous or {}).get("Line", []) if line.get("Id")}
    used = {int(i) for i in known if i.isdigit()}
    next_id = max(used, default=0) + 1
    for number, line in enumerate(lines, start=1):
        if str(line.get("Id")) not in known:
            line["Id"] = str(next_id)
            next_id += 1
        line["LineNum"] = number


def _totals(company: QboCompany, form: dict, lines: list[dict]) -> math.Totals:
    table = tax_rates_by_code(company)
    if not company.is_us:
        calc = form.get("GlobalTaxCalculation") or "TaxExcluded"
        totals = math.non_us_totals(lines, table, calc)
    else:
        detail = form.get("TxnTaxDetail") or {}
        code = ref_value(detail, "TxnTaxCodeRef")
        if code is not None and code not in table:
            raise business_validation(f"Invalid tax code: {code}", "TxnTaxCodeRef")
        if code is None:
            # Automated Sales Tax would pick a rate from the addresses; the sandbox uses the
            # company's one real sales tax code.
            code = next((c for c, rates in table.items() if rates), None)
        rates = table.get(code, ()) if code else ()
        after_discount = bool(form.get("ApplyTaxAfterDiscount"))
        totals = math.us_totals(lines, detail, rates, apply_tax_after_discount=after_discount)
        form["_txn_tax_code"] = code
    for line in lines:
        if line["DetailType"] == "DiscountLineDetail":
            detail = line.get("DiscountLineDetail") or {}
            if detail.get("PercentBased"):
                percent = math.amount_of(detail.get("DiscountPercent"), "DiscountPercent")
                line["Amount"] = math.cents(totals.subtotal * percent / 100)
    return totals


def _subtotal_line(subtotal: Decimal) -> dict:
    return {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}


def _txn_tax_detail(company: QboCompany, form: dict, totals: math.Totals) -> dict:
    detail: dict = {}
    code = form.pop("_txn_tax_code", None)
    if company.is_us and code:
        detail["TxnTaxCodeRef"] = {"value": code}
    detail["TotalTax"] = totals.total_tax
    detail["TaxLine"] = [
        {
            "Amount": t.amount,
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": t.rate.rate_id},
                "PercentBased": True,
                "TaxPercent": t.rate.percent,
                "NetAmountTaxable": t.net_amount_taxable,
            },
        }
        for t in totals.tax_lines
    ]
    return detail


def _doc_number(
    company: QboCompany, entity: str, form: dict, ctx: WriteContext, previous: dict | None
) -> str | None:
    """DocNumber as Intuit's Invoice reference describes the field (the DocNumber entry of
    Transaction in Finance.xsd / the Invoice API page; reference qbo.md §2.4): with
    Preferences.SalesFormsPrefs.CustomTxnNumbers true a custom value can be provided and an
    omitted one stays null; with it false QBO numbers the form itself "by incrementing the last
    number by 1", and a value sent anyway "can lead to unwanted duplicates" because it does not
    move that internal sequence. `AUTO_GENERATE` asks for the next number in either mode."""
    number = form.get("DocNumber")
    prefs = company.get("Preferences", "1") or {}
    custom = (prefs.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers", False)
    if number == "AUTO_GENERATE" or (number in (None, "") and not custom and previous is None):
        return _next_doc_number(company, entity, custom)
    if number in (None, ""):
        return None
    number = str(number)
    if len(number) > DOC_NUMBER_MAX:
        raise invalid_value("DocNumber", f"String length exceeds {DOC_NUMBER_MAX}: DocNumber")
    if not ctx.allow_duplicate_doc_number:
        check_doc_number_free(company, entity, number, previous and previous["Id"])
    if custom and previous is None:
        _follow(company, number)
    return number


def _next_doc_number(company: QboCompany, entity: str, custom: bool) -> str:
    if not custom:
        # QBO's own sequence, blind to numbers clients sent (Intuit's "unwanted duplicates").
        candidate = str(company.next_doc_number)
        company.next_doc_number += 1
        return candidate
    while True:
        candidate = str(company.next_doc_number)
        company.next_doc_number += 1
        if not any(str(r.get("DocNumber")) == candidate for r in company.all(entity)):
            return candidate


def _follow(company: QboCompany, number: str) -> None:
    """With custom numbers on, the next suggested number follows the last one entered, so an
    integration pushing 58231 moves the company's own numbering to 58232 (stand-in rule for
    the behaviour the issue describes; Intuit documents no more than "next in sequence")."""
    if number.isdigit():
        company.next_doc_number = int(number) + 1


def _set_balance(company: QboCompany, entity: str, form: dict, previous: dict | None) -> None:
    applied = applied_amount(company, entity, previous["Id"]) if previous else Decimal("0")
    if applied > form["TotalAmt"]:
        raise business_validation(
            "The transaction total cannot be less than the amount already applied to it."
        )
    if entity == "RefundReceipt":
        form["Balance"] = Decimal("0")
    elif entity == "CreditMemo":
        form["RemainingCredit"] = form["TotalAmt"] - applied
        form["Balance"] = form["RemainingCredit"]
    else:
        form["Balance"] = form["TotalAmt"] - applied
