"""The one Xero Accounting API client: paths, tenant header, batches, per-element outcomes.

Every call goes through `ProviderHttp` (tokens, the shared limiter, 401/429/5xx). Creates use
PUT (create-only) with `summarizeErrors=false`, so one bad element never hides the good ones,
and an `Idempotency-Key` derived from the content. Amounts are `Decimal` both ways: bodies are
written by `DecimalJsonSession` (see `xero_client_from_settings`), responses are parsed with
`parse_float=Decimal`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import redis
import requests

# The project's one Decimal-aware JSON writer (it lives with the QBO client for now).
from invoicesync.clients.json_body import DecimalJsonSession, dump_json
from invoicesync.clients.oauth import OAuthClient
from invoicesync.clients.provider_http import ProviderHttp, ProviderRejected
from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical_to_xero import xero_unitdp_for
from invoicesync.errors import Disconnected
from invoicesync.settings import ProviderEndpoints, Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.limiter import (
    XERO_APP,
    XERO_INVOICE_CREATION_PACE,
    XERO_TENANT,
    XERO_TENANT_CONCURRENCY,
    Limiter,
    TokenBucket,
)
from invoicesync.stores.tokens import TokenStore

PROVIDER = "xero"
# Xero's advice for batched writes: about 50 elements per request.
XERO_BATCH_MAX = 50
REFERENCE_TTL_SECONDS = 3600
ZERO_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class XeroElementResult:
    """One element of a batch reply: Xero's echo of it, and its validation messages."""

    element: dict
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.messages


class XeroClient:
    """Typed access to one Xero app's accounting API for any connected tenant.

    `xero_tenant_id_for` gives the Xero tenant id (the stored connection's external id) for
    one of our tenants; `cache` (optional) keeps reference data for an hour.
    """

    def __init__(
        self,
        http: ProviderHttp,
        endpoints: ProviderEndpoints,
        xero_tenant_id_for: Callable[[str], str],
        cache: redis.Redis | None = None,
        *,
        invoice_creation_pace: TokenBucket | None = XERO_INVOICE_CREATION_PACE,
    ) -> None:
        self._http = http
        self._invoice_creation_pace = invoice_creation_pace
        self._accounting = f"{endpoints.api_base}/api.xro/2.0"
        self._identity = endpoints.api_base
        self._xero_tenant_id_for = xero_tenant_id_for
        self._cache = cache

    # -- invoices --------------------------------------------------------------------------

    def invoices_by_numbers(self, tenant_id: str, numbers: Sequence[str]) -> list[dict]:
        """ACCREC invoices whose number is one of `numbers` (exact match, any status)."""
        found: list[dict] = []
        for chunk in _chunks(sorted(set(numbers)), XERO_BATCH_MAX):
            reply = self._get(tenant_id, "/Invoices", {"InvoiceNumbers": ",".join(chunk)})
            found += reply.get("Invoices", [])
        return found

    def invoices_dated_page(
        self, tenant_id: str, first: date, last: date, page: int, page_size: int = 1000
    ) -> list[dict]:
        """One page of ACCREC invoices dated `first`..`last`, any status, with line items and
        payments (`page` is what brings the lines; `pageSize` up to 1,000, reference §2). Fewer
        than `page_size` rows means the last page."""
        where = f'Type=="ACCREC" AND Date>={_xero_datetime(first)} AND Date<={_xero_datetime(last)}'
        params = {"where": where, "page": str(page), "pageSize": str(page_size)}
        return self._get(tenant_id, "/Invoices", params).get("Invoices", [])

    def get_invoice(self, tenant_id: str, invoice_id: str) -> dict:
        return self._get(tenant_id, f"/Invoices/{invoice_id}")["Invoices"][0]

    def create_invoices(
        self, tenant_id: str, elements: Sequence[dict], idempotency_key: str
    ) -> list[XeroElementResult]:
        """PUT one batch (≤ XERO_BATCH_MAX) of new invoices; one result per element, in order.
        Paced (XERO_INVOICE_CREATION_PACE): RateLimited at once while a busy tenant's invoices
        should gather into a larger batch."""
        if self._invoice_creation_pace is not None:
            self._http.pace(tenant_id, self._invoice_creation_pace)
        return self._write_batch(
            tenant_id, "PUT", "/Invoices", "Invoices", elements, idempotency_key
        )

    def update_invoice(
        self, tenant_id: str, invoice_id: str, element: dict, idempotency_key: str
    ) -> XeroElementResult:
        """Through the collection (updateOrCreateInvoices) with the InvoiceID in the element:
        `POST /Invoices/{InvoiceID}` documents no summarizeErrors, so a refusal there would
        be a 400 for the request instead of this element's messages."""
        element = element | {"InvoiceID": invoice_id}
        return self._write_batch(
            tenant_id, "POST", "/Invoices", "Invoices", [element], idempotency_key
        )[0]

    # -- payments, credit notes ------------------------------------------------------------

    def create_payments(
        self, tenant_id: str, elements: Sequence[dict], idempotency_key: str
    ) -> list[XeroElementResult]:
        return self._write_batch(
            tenant_id, "PUT", "/Payments", "Payments", elements, idempotency_key
        )

    def payments_modified_since(self, tenant_id: str, since: datetime, page: int = 1) -> list[dict]:
        """One page (100) of payments created or changed after `since` (for reverse sync)."""
        headers = {"If-Modified-Since": since.strftime("%Y-%m-%dT%H:%M:%S")}
        reply = self._get(tenant_id, "/Payments", {"page": str(page)}, headers=headers)
        return reply.get("Payments", [])

    def get_payment(self, tenant_id: str, payment_id: str) -> dict | None:
        """One payment by PaymentID, any status (a deleted one reads DELETED); None when Xero
        has no such payment (404)."""
        try:
            reply = self._get(tenant_id, f"/Payments/{payment_id}")
        except ProviderRejected as exc:
            if exc.status == 404:
                return None
            raise
        return next(iter(reply.get("Payments") or []), None)

    def create_credit_notes(
        self, tenant_id: str, elements: Sequence[dict], idempotency_key: str
    ) -> list[XeroElementResult]:
        return self._write_batch(
            tenant_id, "PUT", "/CreditNotes", "CreditNotes", elements, idempotency_key
        )

    def credit_notes_by_number(self, tenant_id: str, number: str) -> list[dict]:
        """Credit notes with exactly this number, each read in full (payments included).
        Empty when the number cannot be quoted in a `where` clause."""
        if '"' in number or number.endswith("\\"):
            return []
        where = f'CreditNoteNumber=="{number}"'
        rows = self._get(tenant_id, "/CreditNotes", {"where": where}).get("CreditNotes", [])
        return [self.get_credit_note(tenant_id, row["CreditNoteID"]) for row in rows]

    def get_credit_note(self, tenant_id: str, credit_note_id: str) -> dict:
        return self._get(tenant_id, f"/CreditNotes/{credit_note_id}")["CreditNotes"][0]

    def allocate_credit_note(
        self, tenant_id: str, credit_note_id: str, body: dict, idempotency_key: str
    ) -> XeroElementResult:
        """PUT /CreditNotes/{id}/Allocations with a body from `xero_credit_note_allocation`."""
        return self._write_batch(
            tenant_id,
            "PUT",
            f"/CreditNotes/{credit_note_id}/Allocations",
            "Allocations",
            body["Allocations"],
            idempotency_key,
        )[0]

    # -- contacts --------------------------------------------------------------------------

    def contacts_where(self, tenant_id: str, where: str) -> list[dict]:
        """Active contacts matching a `where` clause (the caller has checked it is quotable)."""
        return self._get(tenant_id, "/Contacts", {"where": where}).get("Contacts", [])

    def contacts_by_search_term(self, tenant_id: str, term: str) -> list[dict]:
        return self._get(tenant_id, "/Contacts", {"searchTerm": term}).get("Contacts", [])

    def create_contacts(
        self, tenant_id: str, elements: Sequence[dict], idempotency_key: str
    ) -> list[XeroElementResult]:
        return self._write_batch(
            tenant_id, "PUT", "/Contacts", "Contacts", elements, idempotency_key
        )

    # -- reference data (cached) -----------------------------------------------------------

    def accounts(self, tenant_id: str) -> list[dict]:
        return self._reference(tenant_id, "Accounts")

    def tax_rates(self, tenant_id: str) -> list[dict]:
        return self._reference(tenant_id, "TaxRates")

    def items(self, tenant_id: str) -> list[dict]:
        return self._reference(tenant_id, "Items")

    def forget_reference_data(self, tenant_id: str) -> None:
        if self._cache is not None:
            self._cache.delete(*(_reference_key(tenant_id, n) for n in _REFERENCE_COLLECTIONS))

    def organisation(self, tenant_id: str) -> dict:
        """The connected organisation's own record (name, country, base currency, lock dates)."""
        return self._get(tenant_id, "/Organisation")["Organisations"][0]

    def connections(self, tenant_id: str) -> list[dict]:
        """The Xero organisations our token for `tenant_id` may reach (no tenant header)."""
        response = self._http.request("GET", f"{self._identity}/connections", tenant_id)
        return response.json()

    # -- plumbing --------------------------------------------------------------------------

    def _reference(self, tenant_id: str, collection: str) -> list[dict]:
        key = _reference_key(tenant_id, collection)
        if self._cache is not None:
            cached = self._cache.get(key)
            if cached is not None:
                return json.loads(cached, parse_float=Decimal)
        rows = self._get(tenant_id, f"/{collection}").get(collection, [])
        if self._cache is not None:
            remember_reference_data(self._cache, tenant_id, collection, rows)
        return rows

    def _get(
        self,
        tenant_id: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> dict:
        response = self._http.request(
            "GET",
            f"{self._accounting}{path}",
            tenant_id,
            params=params,
            headers=self._headers(tenant_id) | dict(headers or {}),
        )
        return response.json(parse_float=Decimal)

    def _write_batch(
        self,
        tenant_id: str,
        method: str,
        path: str,
        collection: str,
        elements: Sequence[dict],
        idempotency_key: str,
    ) -> list[XeroElementResult]:
        if not 0 < len(elements) <= XERO_BATCH_MAX:
            raise ValueError(f"a Xero batch holds 1 to {XERO_BATCH_MAX} elements")
        params = {"summarizeErrors": "false"}
        if any(xero_unitdp_for(element) == 4 for element in elements):
            params["unitdp"] = "4"
        response = self._http.request(
            method,
            f"{self._accounting}{path}",
            tenant_id,
            params=params,
            json={collection: list(elements)},
            headers=self._headers(tenant_id),
            idempotency_headers={"Idempotency-Key": idempotency_key},
        )
        replies = response.json(parse_float=Decimal).get(collection, [])
        if len(replies) != len(elements):
            raise ValueError(f"Xero answered {len(replies)} {collection} for {len(elements)}")
        return [XeroElementResult(reply, _validation_messages(reply)) for reply in replies]

    def _headers(self, tenant_id: str) -> dict[str, str]:
        return {"xero-tenant-id": self._xero_tenant_id_for(tenant_id)}


_REFERENCE_COLLECTIONS = ("Accounts", "TaxRates", "Items")


def _reference_key(tenant_id: str, collection: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:xero:reference:{collection.lower()}"


def remember_reference_data(
    cache: redis.Redis, tenant_id: str, collection: str, rows: list[dict]
) -> None:
    """Keep a fresh read of Accounts, TaxRates or Items for the writer's next hour: whoever
    read it (the writer, or the console checking settings) saves the writer that call."""
    if collection not in _REFERENCE_COLLECTIONS:
        raise ValueError(f"{collection} is not Xero reference data the writer keeps")
    cache.set(_reference_key(tenant_id, collection), dump_json(rows), ex=REFERENCE_TTL_SECONDS)


def _validation_messages(reply: Mapping) -> tuple[str, ...]:
    failed = (
        reply.get("HasErrors")
        or reply.get("HasValidationErrors")
        or reply.get("StatusAttributeString") == "ERROR"
    )
    if not failed:
        return ()
    errors = list(reply.get("ValidationErrors") or [])
    for line in reply.get("LineItems") or []:
        errors += line.get("ValidationErrors") or []
    messages = tuple(str(e.get("Message") or e.get("Description") or e) for e in errors)
    return messages or ("Xero rejected the element without saying why",)


def _xero_datetime(day: date) -> str:
    return f"DateTime({day.year}, {day.month:02d}, {day.day:02d})"


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def xero_limiter_scope(tenant_id: str) -> str:
    """Where the limiter counts one connection's calls (its minute and day budgets)."""
    return f"xero:{tenant_id}"


def xero_client_from_settings(
    settings: Settings, client: redis.Redis, session: requests.Session | None = None
) -> XeroClient:
    """The Xero client every service builds the same way: one token store, and one limiter per
    connection (60/min, 5,000/day, 5 in flight) plus the app's 10,000/min, shared by
    replicas."""
    endpoints = settings.endpoints(PROVIDER)
    oauth = OAuthClient(endpoints, PROVIDER, requests.Session())
    store = TokenStore(client, TokenCipher(settings.token_encryption_key))
    http = ProviderHttp(
        PROVIDER,
        session or DecimalJsonSession(),
        AccessTokens(store, lambda _provider: oauth, client),
        Limiter(client),
        rules_for=lambda _tenant_id: XERO_TENANT + XERO_APP,
        scope_key_for=xero_limiter_scope,
        concurrency_for=lambda _tenant_id: XERO_TENANT_CONCURRENCY,
        lost_access=xero_lost_access,
        timeout=(5, settings.provider_read_timeout_seconds),
    )
    return XeroClient(http, endpoints, _XeroTenantIds(store), cache=client)


def xero_lost_access(response: requests.Response) -> str | None:
    """An organisation that removed the app answers 403 AuthenticationUnsuccessful while the
    refresh token still works (shared/reference/xero.md §7, §9 gotcha 18); a 401 that
    survives a refresh means the same. A token without the scope a call needs is refused as
    AuthorizationUnsuccessful (§7): only a new consent grants it, so that is lost access too
    (a connection made before the app asked for it, or broad scopes after Xero retires them,
    §1). Other 403s (a user's permissions) stay rejections."""
    if response.status_code == 401:
        return "Xero refused a freshly refreshed token; reconnect Xero"
    if response.status_code != 403:
        return None
    try:
        detail = str(response.json().get("Detail", ""))
    except (ValueError, AttributeError):
        return None
    if detail.startswith("AuthenticationUnsuccessful"):
        return "the Xero organisation removed the app or is no longer connected"
    if detail.startswith("AuthorizationUnsuccessful"):
        return "the Xero connection lacks a scope this call needs; reconnect Xero to grant it"
    return None


class _XeroTenantIds:
    """Our tenant → the Xero organisation it is connected to (the connection's external id)."""

    def __init__(self, store: TokenStore) -> None:
        self._store = store

    def __call__(self, tenant_id: str) -> str:
        connection = self._store.load(PROVIDER, tenant_id)
        if connection is None or not connection.external_id:
            raise Disconnected(f"xero is not connected for tenant {tenant_id}")
        return connection.external_id
