"""The one QuickBooks Online client: v3 paths, minorversion, requestid, faults, batch, caches.

Auth, the per-realm limiter, 401 refresh, the XML 429 and 5xx handling are `ProviderHttp`'s;
this module knows QBO's paths and error codes and returns typed records. Amounts go out as
JSON numbers with exactly their Decimal digits (`DecimalJsonSession`) and come back as Decimal.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import redis
import requests

from invoicesync.clients.json_body import DecimalJsonSession
from invoicesync.clients.oauth import QBO_MINOR_VERSION, OAuthClient
from invoicesync.clients.provider_http import ProviderHttp, ProviderRejected
from invoicesync.crypto import TokenCipher
from invoicesync.domain.canonical import Contact
from invoicesync.domain.canonical_to_qbo import QboTaxRateRef, qbo_customer_from_canonical
from invoicesync.domain.contact_names import disambiguated_name, qbo_display_name
from invoicesync.errors import Disconnected, InvalidInput, Transient
from invoicesync.settings import ProviderEndpoints, Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.limiter import QBO_BATCH, QBO_REALM, QBO_REALM_CONCURRENCY, Limiter
from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tokens import TokenStore

log = logging.getLogger(__name__)

PROVIDER = "qbo"
MINOR_VERSION = QBO_MINOR_VERSION
BATCH_MAX_ITEMS = 30
REFERENCE_TTL_SECONDS = 3600
STALE_RETRIES = 2
QUERY_MAX_RESULTS = 1000  # MAXRESULTS above 1,000 is a query error (qbo.md §2.7)
# Ids in one `Id in (...)` query: the statement travels in the URL, kept well under 8 KB.
QUERY_IDS_PER_CALL = 200
OBJECT_NOT_FOUND = "610"  # a read of an Id QBO does not hold (qbo.md §2.5)
_TXN_ID_IN_DETAIL = re.compile(r"TxnId=(\w+)")
_BATCH_REQUEST_NAMESPACE = uuid.UUID("0d6a8f52-61c4-4f0e-9a7d-3c2b5a9e8f11")


class QboFaulted(InvalidInput):
    """QBO refused a write or read with a Fault; `code` is Intuit's error code ("6140"...)."""

    def __init__(self, code: str, message: str, detail: str) -> None:
        super().__init__(f"QBO {code} {message}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class QboInvoice:
    id: str
    sync_token: str
    doc_number: str
    customer_id: str
    total: Decimal
    balance: Decimal
    payment_ids: tuple[str, ...] = ()  # Payments linked to the invoice
    adopted: bool = False  # found by its DocNumber (6140) instead of created
    private_note: str = ""  # where our writer leaves its marker


@dataclass(frozen=True)
class QboTxn:
    """A Payment or RefundReceipt as QBO stored it."""

    id: str
    sync_token: str
    total: Decimal


@dataclass(frozen=True)
class QboItem:
    id: str
    name: str
    sku: str = ""


@dataclass(frozen=True)
class QboAccount:
    id: str
    name: str
    account_type: str
    sub_type: str


@dataclass(frozen=True)
class QboCompany:
    country: str
    name: str

    @property
    def us_tax_model(self) -> bool:
        return self.country.upper() == "US"


@dataclass(frozen=True)
class BatchItem:
    """One create/update (or query) of a batch. `request_id` is the item's own stable id."""

    entity: str
    body: dict
    request_id: str
    operation: str = "create"


@dataclass(frozen=True)
class BatchResult:
    entity: dict | None = None
    fault: QboFaulted | None = None
    raw: dict = field(default_factory=dict)


class QboClient:
    """`connections` gives the realm (the stored connection's external id) for a tenant;
    `cache` holds reference data (items, tax codes, company) with a TTL."""

    def __init__(
        self,
        http: ProviderHttp,
        endpoints: ProviderEndpoints,
        *,
        connections: TokenStore,
        cache: redis.Redis,
        reference_ttl: int = REFERENCE_TTL_SECONDS,
        batch_gate: Callable[[str], None] = lambda _tenant_id: None,
    ) -> None:
        self._http = http
        self._base = endpoints.api_base
        self._connections = connections
        self._cache = cache
        self._ttl = reference_ttl
        self._realms: dict[str, str] = {}
        self._batch_gate = batch_gate  # QBO's separate 40 batches/min per realm

    # -- invoices --------------------------------------------------------------------------

    def find_invoice_by_doc_number(self, tenant_id: str, doc_number: str) -> QboInvoice | None:
        statement = f"select * from Invoice where DocNumber = {quoted(doc_number)}"
        found = self.query(tenant_id, statement).get("Invoice") or []
        return _invoice(found[0]) if found else None

    def find_invoices_by_doc_numbers(
        self, tenant_id: str, doc_numbers: Sequence[str]
    ) -> dict[str, QboInvoice]:
        """One query for many numbers (keys are the numbers as QBO holds them, case-folded)."""
        if not doc_numbers:
            return {}
        listed = ", ".join(quoted(number) for number in doc_numbers)
        statement = f"select * from Invoice where DocNumber in ({listed}) maxresults 1000"
        rows = self.query(tenant_id, statement).get("Invoice") or []
        return {str(row.get("DocNumber", "")).casefold(): _invoice(row) for row in rows}

    def invoices_dated_page(
        self, tenant_id: str, first: date, last: date, start_position: int, max_results: int
    ) -> list[dict]:
        """One page of the Invoices dated `first`..`last` (TxnDate, both ends included), in
        creation order so that pages do not shift as new invoices arrive. STARTPOSITION is
        1-based and MAXRESULTS at most 1,000 (qbo.md §2.7); fewer rows means the last page."""
        if not 1 <= max_results <= QUERY_MAX_RESULTS:
            raise ValueError(f"QBO returns 1 to {QUERY_MAX_RESULTS} rows a query")
        statement = (
            f"select * from Invoice where TxnDate >= '{first.isoformat()}' "
            f"and TxnDate <= '{last.isoformat()}' orderby MetaData.CreateTime "
            f"startposition {start_position} maxresults {max_results}"
        )
        return self.query(tenant_id, statement).get("Invoice") or []

    def payments_by_ids(self, tenant_id: str, payment_ids: Sequence[str]) -> list[dict]:
        """The Payment entities with these Ids, `QUERY_IDS_PER_CALL` Ids a query."""
        rows: list[dict] = []
        for start in range(0, len(payment_ids), QUERY_IDS_PER_CALL):
            listed = ", ".join(quoted(i) for i in payment_ids[start : start + QUERY_IDS_PER_CALL])
            statement = (
                f"select * from Payment where Id in ({listed}) maxresults {QUERY_MAX_RESULTS}"
            )
            rows += self.query(tenant_id, statement).get("Payment") or []
        return rows

    def read_payment(self, tenant_id: str, payment_id: str) -> dict | None:
        """GET /payment/{id}: a read, not a metered query (qbo.md §2.7). None when QBO holds no
        such payment: a deleted one is gone, Object Not Found 610 (qbo.md §2.5)."""
        try:
            return self._get(tenant_id, f"payment/{payment_id}")["Payment"]
        except QboFaulted as exc:
            if exc.code == OBJECT_NOT_FOUND:
                return None
            raise

    def missing_invoices(self, tenant_id: str, invoice_ids: Sequence[str]) -> set[str]:
        """Which of these Invoice Ids QBO no longer holds (deleted: a query leaves them out)."""
        found: set[str] = set()
        for start in range(0, len(invoice_ids), QUERY_IDS_PER_CALL):
            listed = ", ".join(quoted(i) for i in invoice_ids[start : start + QUERY_IDS_PER_CALL])
            statement = (
                f"select * from Invoice where Id in ({listed}) maxresults {QUERY_MAX_RESULTS}"
            )
            found |= {
                str(row["Id"]) for row in self.query(tenant_id, statement).get("Invoice") or []
            }
        return set(invoice_ids) - found

    def read_invoice(self, tenant_id: str, invoice_id: str) -> QboInvoice:
        return _invoice(self._get(tenant_id, f"invoice/{invoice_id}")["Invoice"])

    def create_invoice(self, tenant_id: str, body: dict, request_id: str) -> QboInvoice:
        """POST /invoice. A 6140 (DocNumber taken) adopts the invoice that holds the number."""
        try:
            created = self._post(tenant_id, "invoice", body, request_id=request_id)
        except QboFaulted as fault:
            adopted = self.adopt_duplicate(tenant_id, fault)
            if adopted is None:
                raise
            return adopted
        return _invoice(created["Invoice"])

    def adopt_duplicate(self, tenant_id: str, fault: QboFaulted) -> QboInvoice | None:
        """The existing invoice a 6140 names, or None for any other fault."""
        match = _TXN_ID_IN_DETAIL.search(fault.detail)
        if fault.code != "6140" or match is None:
            return None
        existing = self.read_invoice(tenant_id, match.group(1))
        log.info(
            "adopted an invoice QBO already holds",
            extra={"tenant_id": tenant_id, "invoice_id": existing.id},
        )
        return replace(existing, adopted=True)

    def update_invoice(
        self, tenant_id: str, invoice_id: str, changes: dict, request_id: str
    ) -> QboInvoice:
        """A sparse update with the current SyncToken; 5010 (stale) re-reads and tries again."""
        current = self.read_invoice(tenant_id, invoice_id)
        for attempt in range(STALE_RETRIES + 1):
            body = {**changes, "Id": invoice_id, "SyncToken": current.sync_token, "sparse": True}
            try:
                # The SyncToken is part of the request id: a retry after 5010 is a new request.
                rid = derived_request_id(request_id, current.sync_token)
                return _invoice(self._post(tenant_id, "invoice", body, request_id=rid)["Invoice"])
            except QboFaulted as fault:
                if fault.code != "5010" or attempt == STALE_RETRIES:
                    raise
                current = self.read_invoice(tenant_id, invoice_id)
        raise AssertionError("unreachable")

    def void_invoice(self, tenant_id: str, invoice_id: str, request_id: str) -> QboInvoice:
        """`POST /invoice?operation=void` with the current SyncToken (qbo.md §2.5): the invoice
        stays, its amounts zeroed and "Voided" prepended to its PrivateNote."""
        current = self.read_invoice(tenant_id, invoice_id)
        body = {"Id": invoice_id, "SyncToken": current.sync_token}
        params = {"operation": "void", "requestid": request_id}
        return _invoice(self._call("POST", tenant_id, "invoice", params, body)["Invoice"])

    # -- customers -------------------------------------------------------------------------

    def customer_for(self, tenant_id: str, contact: Contact) -> str:
        """The QBO Customer Id for a Keap contact: cached, else found by email then
        DisplayName, else created (a 6240 name clash retries under a disambiguated name)."""
        key = self._key(tenant_id, f"customer:{contact.keap_id}")
        cached = self._cache.get(key)
        if cached is not None:
            return reply_text(cached)
        customer_id = self._find_customer(tenant_id, contact) or self._create_customer(
            tenant_id, contact
        )
        self._cache.set(key, customer_id, ex=self._ttl * 24)
        return customer_id

    def find_customer(self, tenant_id: str, contact: Contact) -> str | None:
        """Read only: the Customer Id `customer_for` would use without creating one, or None
        when it would create one."""
        cached = self._cache.get(self._key(tenant_id, f"customer:{contact.keap_id}"))
        if cached is not None:
            return reply_text(cached)
        return self._find_customer(tenant_id, contact)

    def _find_customer(self, tenant_id: str, contact: Contact) -> str | None:
        email = (contact.email or "").strip()
        if email:
            rows = self._customers_where(tenant_id, f"PrimaryEmailAddr = {quoted(email)}")
            if rows:
                return str(min(rows, key=lambda row: not _notes_name(row, contact))["Id"])
        # A same-named customer is ours only when nothing says it is someone else.
        plain = qbo_display_name(contact)
        rows = self._customers_where(tenant_id, f"DisplayName = {quoted(plain)}")
        if rows and (_notes_name(rows[0], contact) or not rows[0].get("PrimaryEmailAddr")):
            return str(rows[0]["Id"])
        rows = self._customers_where(tenant_id, f"DisplayName = {quoted(_disambiguated(contact))}")
        return str(rows[0]["Id"]) if rows else None

    def _create_customer(self, tenant_id: str, contact: Contact) -> str:
        rid = f"customer-{tenant_id}-{contact.keap_id}"
        name = qbo_display_name(contact)
        for display_name in (name, _disambiguated(contact)):
            body = qbo_customer_from_canonical(contact, display_name)
            try:
                created = self._post(
                    tenant_id, "customer", body, request_id=derived_request_id(rid, display_name)
                )
                return str(created["Customer"]["Id"])
            except QboFaulted as fault:
                if fault.code != "6240":
                    raise
                log.info("customer name taken, disambiguating", extra={"tenant_id": tenant_id})
        raise QboFaulted("6240", "Duplicate Name Exists Error", f"no free name for {name!r}")

    def _customers_where(self, tenant_id: str, condition: str) -> list[dict]:
        statement = f"select * from Customer where {condition} and Active in (true, false)"
        return self.query(tenant_id, statement).get("Customer") or []

    # -- payments and refunds --------------------------------------------------------------

    def create_payment(self, tenant_id: str, body: dict, request_id: str) -> QboTxn:
        return _txn(self._post(tenant_id, "payment", body, request_id=request_id)["Payment"])

    def find_payment_by_ref(self, tenant_id: str, payment_ref: str) -> QboTxn | None:
        statement = f"select * from Payment where PaymentRefNum = {quoted(payment_ref)}"
        rows = self.query(tenant_id, statement).get("Payment") or []
        return _txn(rows[0]) if rows else None

    def payment_refs(self, tenant_id: str, payment_ids: Sequence[str]) -> set[str]:
        """The PaymentRefNum of each of these payments (the Keap payment ids we wrote there)."""
        if not payment_ids:
            return set()
        listed = ", ".join(quoted(payment_id) for payment_id in payment_ids)
        statement = f"select * from Payment where Id in ({listed}) maxresults 1000"
        rows = self.query(tenant_id, statement).get("Payment") or []
        return {str(row["PaymentRefNum"]) for row in rows if row.get("PaymentRefNum")}

    def create_refund_receipt(self, tenant_id: str, body: dict, request_id: str) -> QboTxn:
        created = self._post(tenant_id, "refundreceipt", body, request_id=request_id)
        return _txn(created["RefundReceipt"])

    # -- reference data (cached) -----------------------------------------------------------

    def company(self, tenant_id: str) -> QboCompany:
        def load() -> dict:
            info = self._get(tenant_id, f"companyinfo/{self.realm_id(tenant_id)}")["CompanyInfo"]
            return {"country": str(info.get("Country") or "US"), "name": info.get("CompanyName")}

        cached = self._cached(tenant_id, "company", load)
        return QboCompany(country=cached["country"], name=str(cached.get("name") or ""))

    def items(self, tenant_id: str) -> list[QboItem]:
        def load() -> list[dict]:
            rows = self.query(tenant_id, "select *, Sku from Item maxresults 1000").get("Item")
            return [
                {"id": str(r["Id"]), "name": r.get("Name", ""), "sku": r.get("Sku") or ""}
                for r in rows or []
            ]

        return [QboItem(**row) for row in self._cached(tenant_id, "items", load)]

    def tax_codes(self, tenant_id: str) -> dict[str, str]:
        """TaxCode Id → name."""

        def load() -> dict[str, str]:
            rows = self.query(tenant_id, "select * from TaxCode maxresults 1000").get("TaxCode")
            return {str(r["Id"]): str(r.get("Name", "")) for r in rows or []}

        return dict(self._cached(tenant_id, "taxcodes", load))

    def sales_tax_rates(self, tenant_id: str) -> dict[str, list[QboTaxRateRef]]:
        """TaxCode Id → the TaxRates it charges on sales, with their percent (non-US codes)."""

        def load() -> dict[str, list[list[str]]]:
            rates = self.query(tenant_id, "select * from TaxRate maxresults 1000").get("TaxRate")
            percent = {str(r["Id"]): str(r.get("RateValue", "0")) for r in rates or []}
            codes = self.query(tenant_id, "select * from TaxCode maxresults 1000").get("TaxCode")
            table: dict[str, list[list[str]]] = {}
            for code in codes or []:
                details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
                refs = [str((d.get("TaxRateRef") or {}).get("value", "")) for d in details]
                table[str(code["Id"])] = [[ref, percent[ref]] for ref in refs if ref in percent]
            return table

        return {
            code: [QboTaxRateRef(rate_id, Decimal(value)) for rate_id, value in rates]
            for code, rates in self._cached(tenant_id, "salestaxrates", load).items()
        }

    def accounts(self, tenant_id: str) -> list[QboAccount]:
        def load() -> list[dict]:
            rows = self.query(tenant_id, "select * from Account maxresults 1000").get("Account")
            return [
                {
                    "id": str(r["Id"]),
                    "name": str(r.get("Name", "")),
                    "account_type": str(r.get("AccountType", "")),
                    "sub_type": str(r.get("AccountSubType", "")),
                }
                for r in rows or []
            ]

        return [QboAccount(**row) for row in self._cached(tenant_id, "accounts", load)]

    def forget_reference_data(self, tenant_id: str) -> None:
        forget_qbo_reference_data(self._cache, tenant_id)

    # -- batch, query, CDC -----------------------------------------------------------------

    def batch(self, tenant_id: str, items: Sequence[BatchItem]) -> list[BatchResult]:
        """POST /batch with up to 30 items, answered in the items' order. The batch requestid
        derives from the items' own ids, so a retry of the same items is a replay."""
        if not 0 < len(items) <= BATCH_MAX_ITEMS:
            raise ValueError(f"a QBO batch holds 1 to {BATCH_MAX_ITEMS} items, not {len(items)}")
        request = [
            {"bId": f"b{index}", "operation": item.operation, item.entity: item.body}
            for index, item in enumerate(items)
        ]
        rid = str(uuid.uuid5(_BATCH_REQUEST_NAMESPACE, "|".join(i.request_id for i in items)))
        self._batch_gate(tenant_id)
        body = self._post(tenant_id, "batch", {"BatchItemRequest": request}, request_id=rid)
        by_bid = {str(r.get("bId")): r for r in body.get("BatchItemResponse") or []}
        results = []
        for index, item in enumerate(items):
            answer = by_bid.get(f"b{index}")
            if answer is None:
                raise Transient(f"QBO batch answered without item b{index}")
            fault = _fault_of(answer)
            results.append(BatchResult(answer.get(item.entity), fault, answer))
        return results

    def query(self, tenant_id: str, statement: str) -> dict:
        """The `QueryResponse` of a select (an empty dict when nothing matches)."""
        return self._get(tenant_id, "query", params={"query": statement}).get("QueryResponse", {})

    def changes_since(
        self, tenant_id: str, entities: Sequence[str], since: datetime
    ) -> dict[str, list[dict]]:
        """CDC: the changed (and deleted) objects of each entity type since `since` (≤30 days).

        `changedSince` goes to the whole second (rounded down, so nothing is missed): Intuit
        documents a date or a whole-second date-time, never fractions (qbo.md §7)."""
        params = {"entities": ",".join(entities), "changedSince": cdc_changed_since(since)}
        body = self._get(tenant_id, "cdc", params=params)
        changed: dict[str, list[dict]] = {name: [] for name in entities}
        for block in body.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for name in entities:
                    changed[name].extend(response.get(name) or [])
        return changed

    def realm_id(self, tenant_id: str) -> str:
        realm = self._realms.get(tenant_id)
        if realm is None:
            connection = self._connections.load(PROVIDER, tenant_id)
            if connection is None or not connection.external_id:
                raise Disconnected(f"QBO is not connected for tenant {tenant_id}")
            realm = self._realms[tenant_id] = connection.external_id
        return realm

    # -- plumbing --------------------------------------------------------------------------

    def _url(self, tenant_id: str, path: str) -> str:
        return f"{self._base}/v3/company/{self.realm_id(tenant_id)}/{path}"

    def _get(self, tenant_id: str, path: str, params: Mapping[str, str] | None = None) -> dict:
        return self._call("GET", tenant_id, path, {**(params or {})}, None)

    def _post(self, tenant_id: str, path: str, body: dict, *, request_id: str) -> dict:
        return self._call("POST", tenant_id, path, {"requestid": request_id}, body)

    def _call(self, method: str, tenant_id: str, path: str, params: dict, body: Any) -> dict:
        params["minorversion"] = MINOR_VERSION
        try:
            response = self._http.request(
                method, self._url(tenant_id, path), tenant_id, params=params, json=body
            )
        except ProviderRejected as exc:
            fault = _fault_of(exc.body) if isinstance(exc.body, dict) else None
            if fault is not None:
                raise fault from exc
            raise
        try:
            answer = json.loads(response.text, parse_float=Decimal)
        except ValueError as exc:
            raise Transient(f"QBO answered {path} with a body that is not JSON") from exc
        fault = _fault_of(answer)
        if fault is not None:  # QBO can put a Fault in a 200
            raise fault
        return answer

    def _cached(self, tenant_id: str, name: str, load: Callable[[], Any]) -> Any:
        key = self._key(tenant_id, name)
        stored = self._cache.get(key)
        if stored is not None:
            return json.loads(stored)
        fresh = load()
        self._cache.set(key, json.dumps(fresh), ex=self._ttl)
        return fresh

    @staticmethod
    def _key(tenant_id: str, name: str) -> str:
        return _cache_key(tenant_id, name)


def _cache_key(tenant_id: str, name: str) -> str:
    return f"invoicesync:tenant:{tenant_id}:qbo:{name}"


def forget_qbo_reference_data(cache: redis.Redis, tenant_id: str) -> None:
    """Drop the company's lists the writer keeps for an hour, so its next write reads them
    again (after someone has seen newer ones, e.g. a tax code made since)."""
    names = ("company", "items", "taxcodes", "salestaxrates", "accounts")
    cache.delete(*(_cache_key(tenant_id, name) for name in names))


def qbo_client_from_settings(
    settings: Settings, client: redis.Redis, session: requests.Session | None = None
) -> QboClient:
    """The QBO client every service builds the same way: one token store, one realm limiter
    (500/min, 8/s and 10 concurrent per realm, 40 batches/min), shared by every replica."""
    session = session or DecimalJsonSession()
    endpoints = settings.endpoints(PROVIDER)
    oauth = OAuthClient(endpoints, PROVIDER, requests.Session())
    store = TokenStore(client, TokenCipher(settings.token_encryption_key))
    tokens = AccessTokens(store, lambda _provider: oauth, client)
    realms, limiter = _RealmKeys(store), Limiter(client)
    http = ProviderHttp(
        PROVIDER,
        session,
        tokens,
        limiter,
        rules_for=lambda _tenant_id: QBO_REALM,
        scope_key_for=realms.scope_key,
        concurrency_for=lambda _tenant_id: QBO_REALM_CONCURRENCY,
        lost_access=qbo_lost_access,
        timeout=(5, settings.provider_read_timeout_seconds),
    )

    def batch_gate(tenant_id: str) -> None:
        scope = f"{realms.scope_key(tenant_id)}:batch"
        limiter.acquire(scope, QBO_BATCH, max_wait=10.0, tenant_id=tenant_id)

    return QboClient(http, endpoints, connections=store, cache=client, batch_gate=batch_gate)


def qbo_lost_access(response: requests.Response) -> str | None:
    """A 401 that survives a token refresh: the company revoked the app or the user lost
    access to it (error 120 AuthorizationFailure; shared/reference/qbo.md §9)."""
    if response.status_code == 401:
        return "QuickBooks refused the app even after a token refresh; reconnect QuickBooks"
    return None


class _RealmKeys:
    """QBO counts limits per realm: two tenants on one company share one budget."""

    def __init__(self, store: TokenStore) -> None:
        self._store = store
        self._keys: dict[str, str] = {}

    def scope_key(self, tenant_id: str) -> str:
        key = self._keys.get(tenant_id)
        if key is None:
            connection = self._store.load(PROVIDER, tenant_id)
            realm = connection.external_id if connection else tenant_id
            key = self._keys[tenant_id] = f"qbo-realm:{realm}"
        return key


def cdc_changed_since(since: datetime) -> str:
    """A CDC `changedSince`: UTC, whole seconds (rounded down), explicit offset."""
    if since.tzinfo is None:
        raise ValueError("changedSince needs a timezone-aware time")
    return since.astimezone(UTC).replace(microsecond=0).isoformat()


def quoted(value: str) -> str:
    """A query-language string literal: QBO escapes a quote with a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def derived_request_id(request_id: str, *parts: str) -> str:
    """A requestid (36 chars) for a follow-up request that must not replay the first one."""
    return str(uuid.uuid5(_BATCH_REQUEST_NAMESPACE, "|".join((request_id, *parts))))


def _fault_of(body: Mapping) -> QboFaulted | None:
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, Mapping):
        return None
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if errors else {}
    pick = lambda *names: next((str(first[n]) for n in names if first.get(n)), "")  # noqa: E731
    return QboFaulted(pick("code"), pick("Message", "message"), pick("Detail", "detail"))


def _invoice(row: Mapping) -> QboInvoice:
    return QboInvoice(
        id=str(row["Id"]),
        sync_token=str(row.get("SyncToken", "0")),
        doc_number=str(row.get("DocNumber") or ""),
        customer_id=str((row.get("CustomerRef") or {}).get("value", "")),
        total=Decimal(str(row.get("TotalAmt", "0"))),
        balance=Decimal(str(row.get("Balance", "0"))),
        payment_ids=tuple(
            str(link["TxnId"])
            for link in row.get("LinkedTxn") or []
            if link.get("TxnType") == "Payment"
        ),
        private_note=str(row.get("PrivateNote") or ""),
    )


def _txn(row: Mapping) -> QboTxn:
    return QboTxn(
        id=str(row["Id"]),
        sync_token=str(row.get("SyncToken", "0")),
        total=Decimal(str(row.get("TotalAmt", "0"))),
    )


def _disambiguated(contact: Contact) -> str:
    return disambiguated_name(qbo_display_name(contact), contact.keap_id, 500)


def _notes_name(row: Mapping, contact: Contact) -> bool:
    return f"keap_contact_id={contact.keap_id}" in str(row.get("Notes") or "")
