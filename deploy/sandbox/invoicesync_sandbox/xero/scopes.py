"""Which scopes a Xero app may ask for (broad accounting scopes are closed to new apps), and
which granted scopes let a call through.

Apps created on or after 2 March 2026 may request only granular scopes; the broad
`accounting.transactions(.read)` and `accounting.reports.read` are refused at consent with
`invalid_scope` (shared/reference/xero.md §1 "Scopes", "Granular scopes (2026)", from
developer.xero.com's scope pages as summarised in NOTES-2026 and Apideck's note on post-2026
apps). Older apps keep them until ~13 September 2027.
"""

from __future__ import annotations

from datetime import date

GRANULAR_ONLY_FROM = date(2026, 3, 2)
BROAD_SCOPES = frozenset(
    {"accounting.transactions", "accounting.transactions.read", "accounting.reports.read"}
)


def refused_scopes(requested: list[str], app_created_on: date | None) -> list[str]:
    """The requested scopes this app may not have (none for an app older than the cut-off)."""
    if app_created_on is None or app_created_on < GRANULAR_ONLY_FROM:
        return []
    return [scope for scope in requested if scope in BROAD_SCOPES]


_INVOICES = ("accounting.invoices", "accounting.transactions")
_PAYMENTS = ("accounting.payments", "accounting.transactions")
_BANK = ("accounting.banktransactions", "accounting.transactions")
_SETTINGS = ("accounting.settings",)
# The scopes (each also as `.read`, for reads) that open each collection: the broad ones the
# published OAS annotates, and the granular ones that replace `accounting.transactions`
# (shared/reference/xero.md §1 "Scopes", "Granular scopes (2026)" mapping). Items stand in
# both `accounting.settings` (broad) and `accounting.invoices` (granular), so either opens them.
RESOURCE_SCOPES: dict[str, tuple[str, ...]] = {
    "Invoices": _INVOICES,
    "CreditNotes": _INVOICES,
    "Quotes": _INVOICES,
    "PurchaseOrders": _INVOICES,
    "RepeatingInvoices": _INVOICES,
    "LinkedTransactions": _INVOICES,
    "Payments": _PAYMENTS,
    "BatchPayments": _PAYMENTS,
    "Overpayments": _PAYMENTS,
    "Prepayments": _PAYMENTS,
    "BankTransactions": _BANK,
    "BankTransfers": _BANK,
    "Contacts": ("accounting.contacts",),
    "ContactGroups": ("accounting.contacts",),
    "Accounts": _SETTINGS,
    "TaxRates": _SETTINGS,
    "Currencies": _SETTINGS,
    "Organisation": _SETTINGS,
    "Items": (*_SETTINGS, "accounting.invoices"),
}


def missing_scope(method: str, collection: str, granted: tuple[str, ...]) -> bool:
    """True when none of `granted` opens `collection` for `method` (a write needs the scope
    itself; a read is also opened by its `.read` variant). Collections not listed are open."""
    opening = RESOURCE_SCOPES.get(collection)
    if opening is None:
        return False
    allowed = set(opening)
    if method in ("GET", "HEAD"):
        allowed |= {f"{scope}.read" for scope in opening}
    return not allowed & set(granted)
