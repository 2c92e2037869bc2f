"""PUT/POST Items: create, or update-or-create, the organisation's price list items.

xero_accounting.yaml `/Items` put (createItems) and post (updateOrCreateItems), with
summarizeErrors, unitdp and Idempotency-Key; schema `Item`: `Code` required (≤30), `Name` ≤50,
`Description` ≤4000, `IsSold`/`IsPurchased` default true, `SalesDetails`/`PurchaseDetails`
{UnitPrice, AccountCode, TaxType}. A second item with a Code already in use is refused with the
OAS example's message ("Price List Item with Code ''abc'' already exists"); POST updates the
item named by ItemID, or else by its Code (Code is the item's key on invoice lines, xero.md §4).
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from flask import Response, g, request

from invoicesync_sandbox.xero.batch import ElementResult, batch_response, summarize_errors_requested
from invoicesync_sandbox.xero.documents import ZERO_ID
from invoicesync_sandbox.xero.gate import accounting
from invoicesync_sandbox.xero.store import Books
from invoicesync_sandbox.xero.wire import ms_date

LIMITS = {"Code": 30, "Name": 50, "Description": 4000, "PurchaseDescription": 4000}
DETAIL_FIELDS = ("UnitPrice", "AccountCode", "COGSAccountCode", "TaxType")


def _by_code(books: Books, code: str) -> dict | None:
    wanted = code.strip().casefold()
    return next((i for i in books.items.values() if i["Code"].casefold() == wanted), None)


def _problems(books: Books, element: dict, existing: dict | None) -> list[str]:
    messages = []
    code = str(element.get("Code") or (existing or {}).get("Code") or "").strip()
    if not code:
        messages.append("Item Code must be supplied.")
    for name, limit in LIMITS.items():
        value = element.get(name)
        if value is not None and len(str(value)) > limit:
            messages.append(f"{name} must not be more than {limit} characters long.")
    holder = _by_code(books, code) if code else None
    if holder is not None and (existing is None or holder["ItemID"] != existing["ItemID"]):
        messages.append(f"Price List Item with Code ''{code}'' already exists")
    for side in ("SalesDetails", "PurchaseDetails"):
        account = (element.get(side) or {}).get("AccountCode")
        if account and books.account_by_code(str(account)) is None:
            messages.append(f"Account code '{account}' is not a valid code for this document.")
    return messages


def _details(given: dict | None, before: dict | None, unit_places: int) -> dict:
    details = dict(before or {})
    for name in DETAIL_FIELDS:
        if given and name in given:
            details[name] = given[name]
    if "UnitPrice" in details and details["UnitPrice"] is not None:
        try:
            price = Decimal(str(details["UnitPrice"]))
        except InvalidOperation:
            price = Decimal("0")
        details["UnitPrice"] = price.quantize(Decimal(1).scaleb(-unit_places))
    return details


def _save(books: Books, element: dict, existing: dict | None, unit_places: int) -> ElementResult:
    messages = _problems(books, element, existing)
    if messages:
        echo = dict(element) | {"ItemID": element.get("ItemID", ZERO_ID)}
        return ElementResult(echo, messages)
    record = dict(existing or {"ItemID": str(uuid.uuid4()), "IsSold": True, "IsPurchased": True})
    for name in ("Code", "Name", "Description", "PurchaseDescription", "IsSold", "IsPurchased"):
        if name in element:
            record[name] = element[name]
    record["Code"] = str(record["Code"]).strip()
    record["SalesDetails"] = _details(
        element.get("SalesDetails"), record.get("SalesDetails"), unit_places
    )
    record["PurchaseDetails"] = _details(
        element.get("PurchaseDetails"), record.get("PurchaseDetails"), unit_places
    )
    tracked = bool(element.get("InventoryAssetAccountCode")) and bool(
        record["PurchaseDetails"].get("COGSAccountCode")
    )
    record["IsTrackedAsInventory"] = tracked or bool(record.get("IsTrackedAsInventory"))
    if not record.get("IsSold"):  # the OAS: IsSold false nulls the sales side
        record["Description"], record["SalesDetails"] = None, {}
    record["UpdatedDateUTC"] = ms_date(g.now)
    record["_updated"] = g.now
    books.items[record["ItemID"]] = record
    return ElementResult({k: v for k, v in record.items() if not k.startswith("_")})


def _unit_places() -> int:
    return 4 if request.args.get("unitdp") == "4" else 2


def _reply(results: list[ElementResult]) -> Response:
    return batch_response(
        results,
        "Items",
        "HasValidationErrors",
        summarize_errors=summarize_errors_requested(request.args),
        now=g.now,
    )


@accounting.put("/Items")
def create_items() -> Response:
    books: Books = g.books
    return _reply([_save(books, e, None, _unit_places()) for e in g.checked.body["Items"]])


@accounting.post("/Items")
def update_or_create_items() -> Response:
    books: Books = g.books
    results = []
    for element in g.checked.body["Items"]:
        existing = books.items.get(str(element.get("ItemID") or "").lower())
        if existing is None and element.get("Code"):
            existing = _by_code(books, str(element["Code"]))
        results.append(_save(books, element, existing, _unit_places()))
    return _reply(results)
