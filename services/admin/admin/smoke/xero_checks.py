"""Xero assumptions checked read-only through the project's Xero client: the connection and its
scopes, the organisation's own records, and the filters the writer sends (reference/xero.md §3,
§9 gotchas 8 and 11, §11)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta

from admin.smoke.results import CheckResult, failed, guarded, passed
from invoicesync.clients.oauth import DEFAULT_SCOPES
from invoicesync.clients.xero import XeroClient
from invoicesync.domain.contact_names import xero_search_term
from invoicesync.stores.tokens import TokenStore

CONNECTION = "xero connection and granted scopes"
ORGANISATION = "xero Organisation read"
TAX_RATES = "xero TaxRates read"
ACCOUNTS = "xero Accounts read"
FILTERS = "xero where/searchTerm/InvoiceNumbers/If-Modified-Since filters accepted"
# A name nobody uses: the filters must be accepted, not find anything.
PROBE = "InvoiceSync smoke probe"


def xero_checks(client: XeroClient, tokens: TokenStore, tenant_id: str) -> list[CheckResult]:
    """Every read-only Xero check, in the order they are printed."""
    # Read the lists afresh, not from the writer's hour-long cache.
    client.forget_reference_data(tenant_id)
    return [
        guarded(CONNECTION, lambda: connection_and_scopes(client, tokens, tenant_id)),
        guarded(ORGANISATION, lambda: organisation_read(client, tenant_id)),
        guarded(TAX_RATES, lambda: tax_rates_read(client, tenant_id)),
        guarded(ACCOUNTS, lambda: accounts_read(client, tenant_id)),
        guarded(FILTERS, lambda: filters_accepted(client, tenant_id)),
    ]


def connection_and_scopes(client: XeroClient, tokens: TokenStore, tenant_id: str) -> CheckResult:
    """The stored organisation is among /connections, and the token grants the scopes we ask."""
    rows = client.connections(tenant_id)
    stored = tokens.load("xero", tenant_id)  # after the call: the token may have been refreshed
    if stored is None:
        return failed(CONNECTION, "no Xero connection stored for this tenant")
    row = next((r for r in rows if r.get("tenantId") == stored.external_id), None)
    if row is None:
        listed = ", ".join(str(r.get("tenantId")) for r in rows) or "none"
        return failed(
            CONNECTION, f"organisation {stored.external_id} not in /connections ({listed})"
        )
    seen = f"{row.get('tenantName')} ({row.get('tenantType')}, {stored.external_id})"
    granted = granted_scopes(stored.access_token)
    if granted is None:
        return passed(CONNECTION, f"{seen}; scopes not readable from the access token")
    wanted = set(DEFAULT_SCOPES["xero"]) - {"offline_access"}
    missing = sorted(wanted - set(granted))
    if missing:
        return failed(CONNECTION, f"{seen}; missing scopes {', '.join(missing)}")
    return passed(CONNECTION, f"{seen}; scopes {' '.join(sorted(granted))}")


def organisation_read(client: XeroClient, tenant_id: str) -> CheckResult:
    org = client.organisation(tenant_id)
    locks = [
        f"{name} {org[name]}" for name in ("PeriodLockDate", "EndOfYearLockDate") if org.get(name)
    ]
    seen = (
        f"{org.get('Name')}, country {org.get('CountryCode')}, base currency "
        f"{org.get('BaseCurrency')}, {org.get('OrganisationType')}"
    )
    return passed(ORGANISATION, ", ".join([seen, *locks]))


def tax_rates_read(client: XeroClient, tenant_id: str) -> CheckResult:
    rates = client.tax_rates(tenant_id)
    if not rates:
        return failed(TAX_RATES, "the organisation lists no tax rates")
    types = sorted({str(rate.get("TaxType")) for rate in rates if rate.get("TaxType")})
    return passed(TAX_RATES, f"{len(rates)} rates: {', '.join(types[:8])}")


def accounts_read(client: XeroClient, tenant_id: str) -> CheckResult:
    accounts = client.accounts(tenant_id)
    revenue = [a for a in accounts if a.get("Type") == "REVENUE" and a.get("Code")]
    if not revenue:
        return failed(ACCOUNTS, f"{len(accounts)} accounts, none of type REVENUE with a code")
    codes = ", ".join(str(a["Code"]) for a in revenue[:5])
    return passed(ACCOUNTS, f"{len(accounts)} accounts; revenue codes {codes}")


def filters_accepted(client: XeroClient, tenant_id: str) -> CheckResult:
    """Each filter shape the writer sends, with values that match nothing."""
    number_clause = (
        'ContactNumber=="invoicesync-smoke" OR EmailAddress=="smoke@invoicesync.invalid"'
    )
    counts = {
        "where ContactNumber/EmailAddress": len(client.contacts_where(tenant_id, number_clause)),
        "searchTerm": len(client.contacts_by_search_term(tenant_id, xero_search_term(PROBE))),
        "InvoiceNumbers": len(client.invoices_by_numbers(tenant_id, ["INVOICESYNC-SMOKE-0"])),
        "where CreditNoteNumber==": len(
            client.credit_notes_by_number(tenant_id, "INVOICESYNC-SMOKE-0")
        ),
        "If-Modified-Since": len(
            client.payments_modified_since(tenant_id, datetime.now(UTC) - timedelta(days=1))
        ),
    }
    return passed(FILTERS, "; ".join(f"{name} -> {count} rows" for name, count in counts.items()))


def granted_scopes(access_token: str) -> tuple[str, ...] | None:
    """The `scope` claim of a JWT access token (Xero's are JWTs), or None when it is opaque.
    Only read to report what was granted; the signature is the provider's business."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    scope = claims.get("scope") if isinstance(claims, dict) else None
    if isinstance(scope, str):
        return tuple(scope.split())
    if isinstance(scope, list):
        return tuple(str(s) for s in scope)
    return None
