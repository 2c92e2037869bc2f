"""The dry-run preview through the running system: made while processing is off, it writes
nothing, and the document it shows is, field for field, the one the writer then posts (read
from the ledger stand-in's own request log)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from admin.cli import run
from invoicesync.clients.json_body import dump_json
from tests.e2e.destinations import tenant_of
from tests.e2e.journey import Tenant, retire
from tests.e2e.keap_orders import pay, place_order, taxed_order
from tests.e2e.ledgers import keap_figures
from tests.waiting import eventually, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.infra]


@pytest.fixture(params=["xero", "qbo"])
def tenant(request, stack):
    running = tenant_of(stack, request.param)
    yield running
    retire(stack, running)


def _exact(value):
    """JSON with every number a Decimal, so 12.5 and 12.50 compare equal and 0.1 stays 0.1."""
    return json.loads(dump_json(value), parse_float=Decimal, parse_int=Decimal)


def _preview(tenant: Tenant, invoice_id: str) -> dict:
    answer = tenant.api.call("POST", f"/tenants/{tenant.id}/preview", {"invoice_id": invoice_id})
    assert answer.status_code == 200, answer.text
    body = json.loads(answer.text, parse_float=Decimal, parse_int=Decimal)
    assert body["written"] is False
    [preview] = body["previews"]
    return preview


def _posted_documents(ledger_url: str, number: str) -> list[dict]:
    """Every invoice document the writer sent with this number, oldest first."""
    log = requests.get(f"{ledger_url}/_sandbox/requests", params={"limit": 1000}, timeout=10)
    found = []
    for entry in log.json():
        body = entry.get("body") or {}
        candidates = list(body.get("Invoices") or [])  # Xero: PUT /Invoices {"Invoices": [...]}
        candidates += [item.get("Invoice") for item in body.get("BatchItemRequest") or []]
        candidates.append(body)  # QBO: POST /invoice with the invoice itself
        for document in candidates:
            if not isinstance(document, dict):
                continue
            if number in (document.get("InvoiceNumber"), document.get("DocNumber")):
                found.append(_exact(document))
    return found


def _without_contact(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in ("Contact", "CustomerRef")}


def test_a_preview_is_what_the_writer_then_posts_field_for_field(stack, keap, tenant, capsys):
    ledger_url = stack.xero_url if tenant.destination == "xero" else stack.qbo_url
    tenant.api.ok("PUT", f"/tenants/{tenant.id}/processing", {"enabled": False})
    placed = place_order(keap, taxed_order(keap))
    pay(keap, placed["id"], Decimal("10.00"))
    invoice_id = str(placed["invoice_id"])
    number = keap_figures(placed).invoice_number

    before = _preview(tenant, invoice_id)

    assert before["action"] == "create"
    assert before["contact"]["status"] == "to be created"
    assert any("processing is off" in rule for rule in before["rules"])
    assert [p["amount"] for p in before["payments"]] == [Decimal("10.00")]
    assert before["totals"]["total"] == Decimal("32.00")
    assert run(["preview", tenant.id, invoice_id, "--json"], stack.settings) == 0
    printed = json.loads(capsys.readouterr().out, parse_float=Decimal, parse_int=Decimal)
    assert printed["document"] == before["document"]  # the CLI shows the same document
    assert run(["preview", tenant.id, "--next", "2"], stack.settings) == 0
    listed = capsys.readouterr().out  # earlier tests' orders come first in a shared Keap app
    assert 1 <= listed.count(f"→ {tenant.destination}: create") <= 2, listed
    assert listed.count("nothing was written") == listed.count("Keap invoice ")
    assert _posted_documents(ledger_url, number) == []  # nothing was written

    tenant.api.ok("PUT", f"/tenants/{tenant.id}/processing", {"enabled": True})
    tenant.api.ok("POST", f"/tenants/{tenant.id}/sync", {"invoice_id": invoice_id})
    eventually(
        lambda: "created" in tenant.activity_outcomes(invoice_id),
        f"invoice {invoice_id} created in {tenant.destination}",
    )
    [posted] = wait_for(lambda: _posted_documents(ledger_url, number)) or [None]

    assert posted is not None
    assert _without_contact(_exact(before["document"])) == _without_contact(posted)
    after = _preview(tenant, invoice_id)  # the contact now exists: the whole document agrees
    assert after["contact"]["status"] == "found"
    assert after["action"] == "skip" and after["reason"] == "already synced"
    assert _exact(after["document"]) == posted
