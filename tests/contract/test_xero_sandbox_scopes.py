"""The Xero stand-in lets a call through only with a scope that opens its collection: broad
(`accounting.transactions`) or granular (`accounting.invoices`, `accounting.payments`), each
`.read` for reads only (shared/reference/xero.md §1 "Scopes")."""

from __future__ import annotations

import pytest

from invoicesync_sandbox.xero.app import create_app

TAX_RATE = {"TaxRates": [{"Name": "Levy", "TaxComponents": [{"Name": "Levy", "Rate": 1}]}]}


def _call(scopes: tuple[str, ...], method: str, path: str, body: dict | None = None):
    client = create_app().test_client()
    issued = client.post("/_sandbox/token", json={"scopes": list(scopes)}).get_json()
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "xero-tenant-id": issued["tenant_id"],
        "Accept": "application/json",
    }
    return client.open(f"/api.xro/2.0{path}", method=method, headers=headers, json=body)


@pytest.mark.parametrize(
    "scopes, method, path, body",
    [
        (("accounting.contacts",), "GET", "/Invoices", None),
        (("accounting.invoices",), "GET", "/Payments", None),
        (("accounting.invoices.read",), "GET", "/Contacts", None),
        (("accounting.settings.read",), "PUT", "/TaxRates", TAX_RATE),
        (("accounting.transactions.read",), "GET", "/TaxRates", None),
    ],
    ids=[
        "invoices-with-contacts",
        "payments-with-invoices",
        "contacts-with-invoices-read",
        "write-with-read-only",
        "settings-with-transactions",
    ],
)
def test_a_call_no_granted_scope_opens_is_refused(scopes, method, path, body):
    reply = _call(scopes, method, path, body)

    assert reply.status_code == 403
    assert reply.get_json()["Detail"] == "AuthorizationUnsuccessful"


@pytest.mark.parametrize(
    "scopes, method, path, body",
    [
        (("accounting.invoices",), "GET", "/Invoices", None),
        (("accounting.transactions",), "GET", "/Invoices", None),
        (("accounting.invoices.read",), "GET", "/CreditNotes", None),
        (("accounting.payments.read",), "GET", "/Payments", None),
        (("accounting.settings.read",), "GET", "/TaxRates", None),
        (("accounting.settings",), "PUT", "/TaxRates", TAX_RATE),
        (("accounting.invoices.read",), "GET", "/Items", None),
    ],
    ids=[
        "granular",
        "broad",
        "credit-notes-read",
        "payments-read",
        "settings-read",
        "settings-write",
        "items-granular",
    ],
)
def test_a_call_a_granted_scope_opens_goes_through(scopes, method, path, body):
    reply = _call(scopes, method, path, body)

    assert reply.status_code == 200, reply.get_data(as_text=True)
