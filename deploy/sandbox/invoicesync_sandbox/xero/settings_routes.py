"""Reference data: Organisation, Accounts, TaxRates, Items, Currencies (none paged)."""

from __future__ import annotations

from flask import Response, g, jsonify

from invoicesync_sandbox.xero import errors, seed
from invoicesync_sandbox.xero.gate import accounting
from invoicesync_sandbox.xero.listing import list_response
from invoicesync_sandbox.xero.wire import envelope

ACCOUNT_FIELDS = frozenset(["AccountID", "Code", "Name", "Type", "Class", "Status", "TaxType"])
TAXRATE_FIELDS = frozenset(["Name", "TaxType", "Status"])
ITEM_FIELDS = frozenset(["ItemID", "Code", "Name"])


def _fields_view(fields: frozenset[str]):
    return lambda record: {key: record.get(key) for key in fields}


def _stamped(records: list[dict]) -> list[dict]:
    return [r | {"_updated": r.get("_updated", g.books.created)} for r in records]


@accounting.get("/Organisation")
def organisation() -> Response:
    return jsonify(envelope(g.now, "Organisations", [g.books.organisation()]))


@accounting.get("/Accounts")
def accounts() -> Response:
    records = _stamped(list(g.books.accounts.values()))
    return list_response(
        records, "Accounts", "Account", _fields_view(ACCOUNT_FIELDS), ACCOUNT_FIELDS, g.now
    )


@accounting.get("/Accounts/<account_id>")
def account(account_id: str) -> Response:
    record = g.books.accounts.get(account_id.lower())
    return jsonify(envelope(g.now, "Accounts", [record])) if record else errors.not_found()


@accounting.get("/TaxRates")
def tax_rates() -> Response:
    records = _stamped(list(g.books.tax_rates.values()))
    return list_response(
        records, "TaxRates", "TaxRate", _fields_view(TAXRATE_FIELDS), TAXRATE_FIELDS, g.now
    )


@accounting.get("/Items")
def items() -> Response:
    records = _stamped(list(g.books.items.values()))
    return list_response(records, "Items", "Item", _fields_view(ITEM_FIELDS), ITEM_FIELDS, g.now)


@accounting.get("/Currencies")
def currencies() -> Response:
    rows = [{"Code": code, "Description": name} for code, name in seed.CURRENCIES]
    return jsonify(envelope(g.now, "Currencies", rows))
