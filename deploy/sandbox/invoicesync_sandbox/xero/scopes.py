"""Which scopes a Xero app may ask for: broad accounting scopes are closed to new apps.

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
