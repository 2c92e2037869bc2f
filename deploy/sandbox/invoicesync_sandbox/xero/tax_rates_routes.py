"""PUT /TaxRates: a bookkeeper adds a tax rate to the organisation.

xero_accounting.yaml `/TaxRates` put (createTaxRates, scope `accounting.settings`, with
Idempotency-Key); schema `TaxRate`: `Name`, `TaxComponents` [{Name, Rate, IsCompound,
IsNonRecoverable}], `ReportTaxType`, `Status`. A created rate gets the next `TAX00n` type, as
user-made rates have at Xero (shared/reference/xero.md §4, TaxRates). So a list read before
the rate was added lacks it: a client that keeps TaxRates for an hour meets the new code.
The OAS gives no messages for a bad rate; the ones here are the stand-in's own words.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Response, g

from invoicesync_sandbox.xero.batch import ElementResult, batch_response
from invoicesync_sandbox.xero.gate import accounting
from invoicesync_sandbox.xero.store import Books, tax_rate_record

NAME_LIMIT = 50


def _components(element: dict) -> tuple[list[dict], list[str]]:
    components, messages = [], []
    for given in element.get("TaxComponents") or []:
        try:
            rate = Decimal(str(given.get("Rate")))
        except InvalidOperation:
            rate = Decimal(-1)
        if not given.get("Name") or not rate.is_finite() or rate < 0:
            messages.append("Each tax component needs a Name and a Rate of 0 or more.")
            continue
        components.append(
            {
                "Name": str(given["Name"]),
                "Rate": rate,
                "IsCompound": bool(given.get("IsCompound")),
                "IsNonRecoverable": bool(given.get("IsNonRecoverable")),
            }
        )
    if not components and not messages:
        messages.append("A tax rate needs at least one tax component.")
    return components, messages


def _create(books: Books, element: dict) -> ElementResult:
    name = str(element.get("Name") or "").strip()
    messages = []
    if not name:
        messages.append("Name is required.")
    elif len(name) > NAME_LIMIT:
        messages.append(f"Name must not be more than {NAME_LIMIT} characters long.")
    elif any(r["Name"].casefold() == name.casefold() for r in books.tax_rates.values()):
        messages.append(f"A tax rate named '{name}' already exists.")
    components, component_messages = _components(element)
    messages += component_messages
    if messages:
        return ElementResult(dict(element), messages)
    tax_type = _next_tax_type(books)
    record = tax_rate_record(
        tax_type,
        name,
        components,
        revenue=True,
        report_tax_type=str(element.get("ReportTaxType") or ""),
    )
    books.tax_rates[tax_type] = record | {"_updated": g.now}
    return ElementResult(record)


def _next_tax_type(books: Books) -> str:
    taken = {t for t in books.tax_rates if t.startswith("TAX") and t[3:].isdigit()}
    number = 1
    while f"TAX{number:03d}" in taken:
        number += 1
    return f"TAX{number:03d}"


@accounting.put("/TaxRates")
def create_tax_rates() -> Response:
    books: Books = g.books
    results = [_create(books, element) for element in g.checked.body["TaxRates"]]
    return batch_response(results, "TaxRates", None, summarize_errors=True, now=g.now)
