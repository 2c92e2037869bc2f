"""The one Keap client: REST v2 orders and payments, v1 hook subscriptions, typed results.

Paths, query parameters and paging live here and nowhere else. Auth, the shared Keap limiter,
401 refresh, 429 and 5xx handling are `ProviderHttp`'s; this module maps Keap's answers to the
typed records of `domain.keap_order` through `keap_schemas`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

from invoicesync.clients.json_body import DecimalJsonSession
from invoicesync.clients.keap_schemas import (
    KeapPage,
    load_keap_order,
    load_order_page,
    load_order_payments_page,
    load_sales_payments_page,
    load_transaction_order_ids,
)
from invoicesync.clients.oauth import OAuthClient
from invoicesync.clients.provider_http import ProviderHttp, ProviderRejected
from invoicesync.crypto import TokenCipher
from invoicesync.domain.keap_amount_checks import KeapAmountMismatch
from invoicesync.domain.keap_order import KeapOrder, KeapPayment
from invoicesync.errors import InvalidInput
from invoicesync.settings import ProviderEndpoints, Settings
from invoicesync.stores.access_tokens import AccessTokens
from invoicesync.stores.limiter import Limiter, TokenBucket, keap_app_limits
from invoicesync.stores.tokens import TokenStore

PROVIDER = "keap"
MAX_PAGE_SIZE = 1000
# Ids in one `ids==` filter: Keap ids run to 19 digits, and the URL stays under 2 KB.
ORDER_IDS_PER_CALL = 100
# Keap throttles per client app, not per tenant: every tenant and service shares one scope.
KEAP_SCOPE_KEY = "keap-app"


class KeapNotFound(InvalidInput):
    """Keap answered 404 for an id: the object was deleted or never existed."""


@dataclass(frozen=True)
class KeapHook:
    """A v1 REST hook subscription."""

    key: str
    event_key: str
    hook_url: str
    status: str

    @property
    def verified(self) -> bool:
        return self.status == "Verified"


@dataclass(frozen=True)
class RecordedPayment:
    """What Keap answers when a payment is recorded against an order."""

    payment_id: str
    invoice_id: str | None
    transaction_id: str | None


class _RestHookSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True)
    eventKey = fields.String(required=True)  # noqa: N815 - Keap's own camelCase name
    hookUrl = fields.String(required=True)  # noqa: N815
    status = fields.String(load_default="Unverified")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> KeapHook:
        return KeapHook(data["key"], data["eventKey"], data["hookUrl"], data["status"])


class KeapClient:
    def __init__(self, http: ProviderHttp, endpoints: ProviderEndpoints) -> None:
        self._http = http
        self._v1 = f"{endpoints.api_base}/rest/v1"
        self._v2 = f"{endpoints.api_base}/rest/v2"

    # -- orders ----------------------------------------------------------------------------

    def get_order(self, tenant_id: str, order_id: str) -> KeapOrder:
        """GET /rest/v2/orders/{order_id}. Raises KeapNotFound for an unknown id."""
        """Every amount is checked against its formatted_amount: a disagreement means the units
        are not what the spec says, and is InvalidInput rather than a wrong invoice."""
        body = self._get(tenant_id, f"{self._v2}/orders/{order_id}", what=f"order {order_id}")
        return _loaded(_checked_order, body, f"order {order_id}")

    def get_orders(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, KeapOrder]:
        """The orders of `order_ids` by id, read with `GET /rest/v2/orders?filter=ids==a,b,…`:
        one call for a run of notifications instead of one per order. An id Keap leaves out
        (deleted, or a filter it ignored) is absent: `get_order` gives its definite answer."""
        wanted = list(dict.fromkeys(order_ids))
        orders: dict[str, KeapOrder] = {}
        for start in range(0, len(wanted), ORDER_IDS_PER_CALL):
            chunk = wanted[start : start + ORDER_IDS_PER_CALL]
            params = {
                "order_by": "id asc",
                "page_size": len(chunk),
                "filter": f"ids=={','.join(chunk)}",
            }
            body = self._get(tenant_id, f"{self._v2}/orders", params=params, what="orders")
            page = _loaded(_checked_order_page, body, f"orders {chunk[0]}…")
            orders.update((order.id, order) for order in page.items if order.id in chunk)
        return orders

    def find_order_by_invoice(self, tenant_id: str, invoice_id: str) -> KeapOrder | None:
        """The order whose invoice is `invoice_id` (invoice.* hooks carry invoice ids), with its
        amounts checked as `get_order` checks them."""
        params = {"order_by": "id asc", "page_size": 1, "filter": f"invoice_id=={invoice_id}"}
        body = self._get(tenant_id, f"{self._v2}/orders", params=params, what="orders")
        page = _loaded(_checked_order_page, body, f"order of invoice {invoice_id}")
        return page.items[0] if page.items else None

    def list_orders(
        self,
        tenant_id: str,
        page_token: str | None = None,
        *,
        order_by: str = "id asc",
        filter: str | None = None,  # noqa: A002 - Keap's parameter name
        page_size: int = MAX_PAGE_SIZE,
    ) -> KeapPage[KeapOrder]:
        """One page of GET /rest/v2/orders; pass `next_page_token` back for the next one."""
        params: dict[str, Any] = {"order_by": order_by, "page_size": page_size}
        if filter:
            params["filter"] = filter
        if page_token:
            params["page_token"] = page_token
        body = self._get(tenant_id, f"{self._v2}/orders", params=params, what="orders")
        return _loaded(load_order_page, body, "order list")

    def list_orders_modified_since(
        self,
        tenant_id: str,
        since: datetime,
        page_token: str | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> KeapPage[KeapOrder]:
        """Orders changed at or after `since`, oldest change first (the poll's cursor order)."""
        return self.list_orders(
            tenant_id,
            page_token,
            order_by="modification_time asc",
            filter=f"modified_since_time=={_iso(since)}",
            page_size=page_size,
        )

    # -- payments --------------------------------------------------------------------------

    def list_order_payments(self, tenant_id: str, order_id: str) -> list[KeapPayment]:
        """Every InvoiceOrderPayment row of an order, all pages."""
        url = f"{self._v2}/orders/{order_id}/payments"
        payments: list[KeapPayment] = []
        for body in self._pages(tenant_id, url, what=f"payments of order {order_id}"):
            payments.extend(_loaded(load_order_payments_page, body, "order payments").items)
        return payments

    def find_order_ids_for_payment(self, tenant_id: str, payment_id: str) -> tuple[str, ...]:
        """The orders an `invoice.payment.*` hook id pays, whatever kind of id it is.

        Keap does not document that id (reference/keap.md §2.2): read as a v2 sales payment id
        first (`GET /rest/v2/sales/payments?filter=id==`), then as the v1 transaction id public
        integrations read it as (`GET /rest/v1/transactions/{id}`). Empty when neither knows it.
        """
        return self.order_ids_of_sales_payment(
            tenant_id, payment_id
        ) or self.order_ids_of_transaction(tenant_id, payment_id)

    def order_ids_of_sales_payment(self, tenant_id: str, payment_id: str) -> tuple[str, ...]:
        """The orders a v2 sales payment pays; empty when no sales payment has that id."""
        page = self._sales_payments(tenant_id, filter=f"id=={payment_id}", page_size=1)
        return page.items[0].order_ids if page.items else ()

    def order_ids_of_transaction(self, tenant_id: str, transaction_id: str) -> tuple[str, ...]:
        """The orders a v1 transaction pays; empty when no transaction has that id."""
        url = f"{self._v1}/transactions/{transaction_id}"
        try:
            body = self._get(tenant_id, url, what=f"transaction {transaction_id}")
        except KeapNotFound:
            return ()
        return _loaded(load_transaction_order_ids, body, f"transaction {transaction_id}")

    def list_payments_after(
        self, tenant_id: str, after_id: int, *, page_size: int = MAX_PAGE_SIZE
    ) -> KeapPage[KeapPayment]:
        """Sales payments with an id above `after_id`, lowest first (the payments poll).

        Ids, not `since_time`: Keap does not say which time that filter reads (reference §4.1),
        and a payment recorded late carries a `payment_time` long before it was entered.
        """
        return self._sales_payments(
            tenant_id, filter=f"id>{after_id}", order_by="id asc", page_size=page_size
        )

    def list_payments_since(
        self,
        tenant_id: str,
        since: datetime,
        page_token: str | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> KeapPage[KeapPayment]:
        """Sales payments at or after `since` (`filter=since_time==...`), lowest id first."""
        return self._sales_payments(
            tenant_id,
            filter=f"since_time=={_iso(since)}",
            order_by="id asc",
            page_token=page_token,
            page_size=page_size,
        )

    def newest_payment_id(self, tenant_id: str) -> int:
        """The highest sales payment id Keap holds for the app; 0 when it has none."""
        page = self._sales_payments(tenant_id, order_by="id desc", page_size=1)
        return payment_sequence_number(page.items[0]) if page.items else 0

    def _sales_payments(
        self,
        tenant_id: str,
        *,
        filter: str | None = None,  # noqa: A002 - Keap's parameter name
        order_by: str | None = None,
        page_token: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> KeapPage[KeapPayment]:
        params: dict[str, Any] = {"page_size": page_size}
        for name, value in (("filter", filter), ("order_by", order_by), ("page_token", page_token)):
            if value:
                params[name] = value
        body = self._get(tenant_id, f"{self._v2}/sales/payments", params=params, what="payments")
        return _loaded(load_sales_payments_page, body, "sales payments")

    def create_manual_payment(
        self,
        tenant_id: str,
        order_id: str,
        amount: Decimal,
        paid_at: datetime,
        payment_type: str,
        notes: str,
    ) -> RecordedPayment:
        """Record a payment made elsewhere (never charges a card): POST .../payments.

        `payment_type` must be one of the app's Manual Payment Types. Keap has no idempotency
        key: callers check the order's payments for their note before calling again.
        """
        body = {
            # Keap takes a JSON number in major units, written with exactly the Decimal's digits.
            "payment_amount": amount,
            "apply_to_commissions": False,
            "payment_method_type": payment_type,
            "payment_time": _iso(paid_at),
            "notes": notes,
        }
        response = self._http.request(
            "POST", f"{self._v2}/orders/{order_id}/payments", tenant_id, json=body
        )
        data = response.json()
        return RecordedPayment(
            payment_id=str(data["id"]),
            invoice_id=_text_or_none(data.get("invoice_id")),
            transaction_id=_text_or_none(data.get("transaction_id")),
        )

    # -- REST hooks (v1 only) --------------------------------------------------------------

    def list_hooks(self, tenant_id: str) -> list[KeapHook]:
        body = self._get(tenant_id, f"{self._v1}/hooks", what="hooks")
        return _loaded(_RestHookSchema(many=True).load, body, "hooks")

    def create_hook(self, tenant_id: str, event_key: str, url: str) -> KeapHook:
        """Subscribe; Keap runs the X-Hook-Secret handshake against `url` before answering."""
        response = self._http.request(
            "POST", f"{self._v1}/hooks", tenant_id, json={"eventKey": event_key, "hookUrl": url}
        )
        return _loaded(_RestHookSchema().load, response.json(), "hook")

    def verify_hook(self, tenant_id: str, key: str) -> KeapHook:
        response = self._http.request("POST", f"{self._v1}/hooks/{key}/verify", tenant_id)
        return _loaded(_RestHookSchema().load, response.json(), "hook")

    def delete_hook(self, tenant_id: str, key: str) -> None:
        try:
            self._http.request("DELETE", f"{self._v1}/hooks/{key}", tenant_id)
        except ProviderRejected as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    # -- plumbing --------------------------------------------------------------------------

    def _get(
        self,
        tenant_id: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        what: str,
    ) -> Any:
        try:
            return self._http.request("GET", url, tenant_id, params=params).json()
        except ProviderRejected as exc:
            if exc.status == 404:
                raise KeapNotFound(f"{what} not found in Keap") from exc
            raise

    def _pages(self, tenant_id: str, url: str, *, what: str) -> Iterator[Any]:
        params: dict[str, Any] = {"page_size": MAX_PAGE_SIZE}
        while True:
            body = self._get(tenant_id, url, params=params, what=what)
            yield body
            token = body.get("next_page_token") if isinstance(body, dict) else None
            if not token:
                return
            params = {"page_size": MAX_PAGE_SIZE, "page_token": token}


def keap_client_from_settings(
    settings: Settings, client: redis.Redis, session: requests.Session | None = None
) -> KeapClient:
    """The Keap client every service builds the same way: one token store, one app limiter."""
    session = session or DecimalJsonSession()
    endpoints = settings.endpoints(PROVIDER)
    oauth = OAuthClient(endpoints, PROVIDER, session)
    tokens = AccessTokens(
        TokenStore(client, TokenCipher(settings.token_encryption_key)), lambda _p: oauth, client
    )
    app_limits = keap_app_limits(
        settings.keap_app_calls_per_minute,
        settings.keap_app_calls_per_day,
        settings.keap_app_calls_per_second,
    )
    http = ProviderHttp(
        PROVIDER,
        session,
        tokens,
        Limiter(client),
        rules_for=lambda _tenant_id: app_limits,
        scope_key_for=lambda _tenant_id: KEAP_SCOPE_KEY,
        timeout=(5, settings.provider_read_timeout_seconds),
        tenant_share=TokenBucket(
            "keap-tenant", settings.keap_tenant_burst, settings.keap_tenant_calls_per_second
        ),
    )
    return KeapClient(http, endpoints)


def payment_sequence_number(payment: KeapPayment) -> int:
    """A sales payment's id as the number the payments poll counts from."""
    try:
        return int(payment.id)
    except ValueError as exc:
        raise InvalidInput(f"Keap sent a payment id that is not a number: {payment.id!r}") from exc


def _checked_order(body: Any) -> KeapOrder:
    return load_keap_order(body, check_units=True)


def _checked_order_page(body: Any) -> KeapPage[KeapOrder]:
    return load_order_page(body, check_units=True)


def _loaded(load, body: Any, what: str):
    try:
        return load(body)
    except ValidationError as exc:
        raise InvalidInput(f"Keap sent an unexpected {what}: {exc.messages}") from exc
    except KeapAmountMismatch as exc:
        raise InvalidInput(f"Keap's money units disagree: {exc}") from exc


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text_or_none(value: object) -> str | None:
    return None if value in (None, "") else str(value)
