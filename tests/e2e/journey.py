"""What a user does through the running stack: a tenant made over the admin API, Keap and its
ledger connected through the real OAuth routes, settings saved, processing switched on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import requests

from invoicesync.stores.tenants import poll_last_key
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID
from tests.integration.transform.keap_stand_in import keap_request
from tests.stack import Stack
from tests.waiting import eventually, wait_for

HOOK_EVENT_KEYS_FOLLOWED = 9  # invoicesync.hook_subscriptions.REQUIRED_EVENT_KEYS


@dataclass
class AdminApi:
    base_url: str
    key: str

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.base_url}/api/v1{path}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=15,
        )

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.call(method, path, body, **params)
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()


@dataclass
class Tenant:
    id: str
    destination: str
    hook_url: str
    api: AdminApi  # with the tenant's own key
    ledger_id: str  # the Xero organisation id or the QBO realm id
    keap_app_id: str | None = None  # a Keap account of its own (None: the shared one)

    def activity(self, keap_id: str) -> list[dict]:
        return self.api.ok("GET", f"/tenants/{self.id}/activity", q=keap_id, limit=200)["entries"]

    def activity_outcomes(self, keap_id: str, object_type: str = "invoice") -> list[str]:
        """Outcomes logged for one Keap invoice or payment, by its Keap id."""
        return [
            entry["outcome"]
            for entry in self.activity(keap_id)
            if entry["object_type"] == object_type and entry["keap_id"] == keap_id
        ]


def connect(
    api: AdminApi, tenant_id: str, provider: str, *, keap_app_id: str | None = None
) -> dict:
    """Follow the 302s (our connect route, the provider's auto-consent, our callback) in one
    cookie jar, as the starting browser would, then confirm with the same key. With
    `keap_app_id`, the person signing in to Keap picks that account on its consent page."""
    auth = {"Authorization": f"Bearer {api.key}"}
    with requests.Session() as browser:
        url = f"{api.base_url}/api/v1/tenants/{tenant_id}/connect/{provider}"
        params = None
        if keap_app_id is not None:
            consent = browser.get(url, headers=auth, allow_redirects=False, timeout=15)
            assert consent.is_redirect, f"connect {provider}: {consent.status_code}"
            url, params = consent.headers["Location"], {"app_id": keap_app_id}
        answer = browser.get(url, params=params, headers=auth, allow_redirects=True, timeout=15)
        assert answer.status_code == 200, f"connect {provider}: {answer.status_code} {answer.text}"
        assert answer.json()["status"] == "confirm", answer.text
        answer = browser.post(
            f"{api.base_url}{answer.json()['confirm']}", json={}, headers=auth, timeout=15
        )
    assert answer.status_code == 200, f"confirm {provider}: {answer.status_code} {answer.text}"
    connected = answer.json()
    assert connected["status"] == "connected" and connected["tenant_id"] == tenant_id
    return connected


def onboard(
    stack: Stack,
    destination: str,
    *,
    ledger_settings: Callable[[str], dict] | dict,
    sync: dict | None = None,
    keap_app_id: str | None = None,
) -> Tenant:
    """A tenant set up end to end; returns once Keap reports its hooks verified.

    `ledger_settings` is the `xero`/`qbo` section, or a function of the ledger id making it.
    Unless `sync` names a start point, the tenant starts at the next Keap invoice: tenants
    share one Keap account unless `keap_app_id` opens one of its own, and a first poll over
    all that earlier tests ordered would spend the new ledger's minute of calls on them.
    """
    if keap_app_id is not None:
        requests.post(
            f"{stack.keap_url}/_sandbox/keap/accounts", json={"app_id": keap_app_id}, timeout=5
        ).raise_for_status()
    sync = sync or {}
    if "start_point" not in sync:
        next_invoice = KeapApi(stack.keap_url, keap_app_id).newest_invoice_id() + 1
        sync = sync | {"start_point": {"kind": "invoice_id", "invoice_id": next_invoice}}
    operator = AdminApi(stack.admin_url, stack.operator_key)
    created = operator.ok(
        "POST",
        "/tenants",
        {"name": f"E2E {destination} {time.time_ns()}", "destination": destination},
    )
    api = AdminApi(stack.admin_url, created["api_key"])
    if destination == "xero":
        # Each business has its own organisation: one bound to two tenants needs an operator.
        requests.put(
            f"{stack.xero_url}/_sandbox/xero/consent",
            json={"organisations": [created["name"]]},
            timeout=5,
        ).raise_for_status()
    else:
        # One QuickBooks company, one tenant: each business signs in to a company of its own.
        requests.put(
            f"{stack.qbo_url}/_sandbox/qbo/consent",
            json={"company_name": created["name"]},
            timeout=5,
        ).raise_for_status()
    connect(api, created["id"], "keap", keap_app_id=keap_app_id)
    ledger_id = connect(api, created["id"], destination)["external_id"]
    section = ledger_settings(ledger_id) if callable(ledger_settings) else ledger_settings
    settings = {"destination": destination, destination: section, "sync": sync}
    api.ok("PUT", f"/tenants/{created['id']}/settings", settings)
    api.ok("PUT", f"/tenants/{created['id']}/processing", {"enabled": True})
    tenant = Tenant(created["id"], destination, created["hook_url"], api, ledger_id, keap_app_id)
    verified = wait_for(lambda: len(verified_hooks(stack, tenant)) >= HOOK_EVENT_KEYS_FOLLOWED)
    assert verified, f"Keap hooks for {tenant.hook_url}: {verified_hooks(stack, tenant)}"
    return tenant


def onboard_from_here(
    stack: Stack,
    keap_newest_invoice_id: int,
    stack_redis: redis.Redis,
    destination: str,
    *,
    ledger_settings: Callable[[str], dict] | dict,
    sync: dict | None = None,
) -> Tenant:
    """A tenant whose start point is the next Keap invoice, so the orders earlier tests left in
    the shared Keap app are skipped, and whose first poll is done before orders are placed."""
    start = {"kind": "invoice_id", "invoice_id": keap_newest_invoice_id + 1}
    tenant = onboard(
        stack,
        destination,
        ledger_settings=ledger_settings,
        sync={"start_point": start} | (sync or {}),
    )
    wait_for_first_poll(stack_redis, tenant)
    return tenant


def retire(stack: Stack, tenant: Tenant) -> None:
    """Processing off and its Keap hooks gone: the sandboxes are shared by every tenant of the
    run, and a later test's orders must not reach this tenant."""
    tenant.api.ok("PUT", f"/tenants/{tenant.id}/processing", {"enabled": False})
    keap = KeapApi(stack.keap_url, tenant.keap_app_id)
    for hook in keap.v1("GET", "/hooks"):
        if hook["hookUrl"] == tenant.hook_url:
            keap.v1("DELETE", f"/hooks/{hook['key']}")


def wait_for_first_poll(client: redis.Redis, tenant: Tenant) -> None:
    """Until the poller's first look back over Keap's recent orders for the tenant is done, so
    it cannot read an order the test is still building."""
    eventually(lambda: client.exists(poll_last_key(tenant.id)), f"a Keap poll for {tenant.id}")


def verified_hooks(stack: Stack, tenant: Tenant) -> list[str]:
    return [
        hook["eventKey"]
        for hook in KeapApi(stack.keap_url, tenant.keap_app_id).v1("GET", "/hooks")
        if hook["hookUrl"] == tenant.hook_url and hook["status"] == "Verified"
    ]


# The tests' own Keap client: Keap throttles per client, and the checks must neither spend the
# minute budget of the system they watch nor fail when its load has used that budget up.
INSPECTOR_CLIENT_ID = f"{DEMO_CLIENT_ID}-e2e-inspector"


class KeapApi:
    """Keap's REST API with a token of its own (not the tenant's, nor its client's), on the
    shared account or on `app_id`'s own."""

    def __init__(self, base_url: str, app_id: str | None = None) -> None:
        self.base_url = base_url
        body = {"client_id": INSPECTOR_CLIENT_ID} | ({"app_id": app_id} if app_id else {})
        self._token = requests.post(f"{base_url}/_sandbox/token", json=body, timeout=5).json()[
            "access_token"
        ]

    def v1(self, method: str, path: str) -> Any:
        response = keap_request(method, f"{self.base_url}/crm/rest/v1{path}", self._token)
        response.raise_for_status()
        return response.json() if response.content else None

    def v2(self, path: str, params: dict | None = None) -> Any:
        response = keap_request(
            "GET", f"{self.base_url}/crm/rest/v2{path}", self._token, params=params
        )
        response.raise_for_status()
        return response.json()

    def newest_invoice_id(self) -> int:
        """The highest invoice id Keap has issued so far (0 for an empty app)."""
        orders = self.v2("/orders", {"order_by": "id desc", "page_size": 1})["orders"]
        return int(orders[0]["invoice_id"]) if orders else 0
