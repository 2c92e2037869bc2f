"""Invoice updates through the Xero client, as Xero documents them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.infra


def _new_invoice(stack, tenant_id: str, key: str) -> dict:
    [contact] = stack.client.create_contacts(tenant_id, [{"Name": f"Buyer {key}"}], f"c-{key}")
    element = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact.element["ContactID"]},
        "Status": "AUTHORISED",
        "LineItems": [
            {"Description": "Widget", "Quantity": 1, "UnitAmount": 40, "AccountCode": "200"}
        ],
    }
    [created] = stack.client.create_invoices(tenant_id, [element], f"i-{key}")
    return created.element


def test_an_update_xero_refuses_comes_back_as_that_elements_messages(xero_stack):
    """updateInvoice (`POST /Invoices/{InvoiceID}`) documents no summarizeErrors, so a refusal
    there is a 400 for the whole request; the collection endpoint reports it per element."""
    tenant_id = xero_stack.connect_tenant("refused-update")
    invoice = _new_invoice(xero_stack, tenant_id, "r1")
    change = {
        "InvoiceID": invoice["InvoiceID"],
        "LineItems": [
            {"Description": "Widget", "Quantity": 1, "UnitAmount": 50, "AccountCode": "999"}
        ],
    }

    result = xero_stack.client.update_invoice(tenant_id, invoice["InvoiceID"], change, "u-r1")

    assert not result.ok
    assert any("999" in message for message in result.messages)
    [row] = xero_stack.invoices(tenant_id)
    assert row["Total"] == invoice["Total"]
