"""`smoke --write`: one clearly marked invoice created and then voided or deleted in a sandbox
or demo organisation, each step a check. Never run against a real company's books."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from admin.smoke.results import CheckResult, failed, guarded, passed, skipped
from invoicesync.clients.qbo import BatchItem, QboClient, QboInvoice
from invoicesync.clients.xero import XeroClient
from invoicesync.domain.canonical import Contact
from invoicesync.errors import InvalidInput

MARK = "INVOICESYNC SMOKE TEST - safe to delete"
CONTACT_NAME = "InvoiceSync smoke test"
AMOUNT = Decimal("1.00")

XERO_CREATE = "xero write (create a DRAFT invoice)"
XERO_DELETE = "xero write (delete the DRAFT invoice)"
QBO_CREATE = "qbo write (create an invoice)"
QBO_VOID = "qbo write (void the invoice)"


def smoke_number(now: datetime) -> str:
    """A document number that says what it is and fits QBO's 21 characters."""
    return f"SMOKE-{now.astimezone(UTC):%Y%m%d%H%M%S}"


def xero_write_checks(client: XeroClient, tenant_id: str, now: datetime) -> list[CheckResult]:
    number = smoke_number(now)
    created: dict = {}
    creating = guarded(XERO_CREATE, lambda: _xero_create(client, tenant_id, number, created))
    if "InvoiceID" not in created:
        return [creating, skipped(XERO_DELETE, "nothing was created")]
    invoice_id = str(created["InvoiceID"])
    return [creating, guarded(XERO_DELETE, lambda: _xero_delete(client, tenant_id, invoice_id))]


def _xero_create(client: XeroClient, tenant_id: str, number: str, created: dict) -> CheckResult:
    revenue = [
        a for a in client.accounts(tenant_id) if a.get("Type") == "REVENUE" and a.get("Code")
    ]
    if not revenue:
        return failed(XERO_CREATE, "no REVENUE account with a code to post the line to")
    today = datetime.now(UTC).date().isoformat()
    element = {
        "Type": "ACCREC",
        "Status": "DRAFT",
        "Contact": {"Name": CONTACT_NAME},
        "InvoiceNumber": number,
        "Reference": MARK,
        "Date": today,
        "DueDate": today,
        "LineItems": [
            {
                "Description": MARK,
                "Quantity": Decimal(1),
                "UnitAmount": AMOUNT,
                "AccountCode": revenue[0]["Code"],
            }
        ],
    }
    result = client.create_invoices(tenant_id, [element], idempotency_key=f"smoke-{number}")[0]
    if not result.ok:
        return failed(XERO_CREATE, "; ".join(result.messages))
    created.update(result.element)
    return passed(
        XERO_CREATE,
        f"{number} ({result.element.get('InvoiceID')}) status {result.element.get('Status')}, "
        f"total {result.element.get('Total')}",
    )


def _xero_delete(client: XeroClient, tenant_id: str, invoice_id: str) -> CheckResult:
    change = {"InvoiceID": invoice_id, "Status": "DELETED"}
    result = client.update_invoice(tenant_id, invoice_id, change, f"smoke-delete-{invoice_id}")
    if not result.ok:
        return failed(XERO_DELETE, "; ".join(result.messages))
    status = client.get_invoice(tenant_id, invoice_id).get("Status")
    if status not in ("DELETED", "VOIDED"):
        return failed(XERO_DELETE, f"{invoice_id} still reads as {status}")
    return passed(XERO_DELETE, f"{invoice_id} now reads as {status}")


def qbo_write_checks(client: QboClient, tenant_id: str, now: datetime) -> list[CheckResult]:
    number = smoke_number(now)
    created: list[QboInvoice] = []
    creating = guarded(QBO_CREATE, lambda: _qbo_create(client, tenant_id, number, created))
    if not created:
        return [creating, skipped(QBO_VOID, "nothing was created")]
    invoice_id = created[0].id
    return [creating, guarded(QBO_VOID, lambda: _qbo_void(client, tenant_id, invoice_id))]


def _qbo_create(
    client: QboClient, tenant_id: str, number: str, created: list[QboInvoice]
) -> CheckResult:
    body = _qbo_invoice_body(client, tenant_id, number)
    invoice = client.create_invoice(tenant_id, body, request_id=f"smoke-{number}")
    created.append(invoice)
    return passed(
        QBO_CREATE, f"DocNumber {invoice.doc_number} (Id {invoice.id}), total {invoice.total}"
    )


def _qbo_invoice_body(client: QboClient, tenant_id: str, number: str) -> dict:
    customer_id = client.customer_for(
        tenant_id, Contact(keap_id="invoicesync-smoke", name=CONTACT_NAME)
    )
    items = client.items(tenant_id)
    if not items:
        raise InvalidInput("the company has no items to put on a line")
    detail: dict = {"ItemRef": {"value": items[0].id}, "Qty": Decimal(1), "UnitPrice": AMOUNT}
    if client.company(tenant_id).us_tax_model:
        detail["TaxCodeRef"] = {"value": "NON"}
    else:  # non-US companies need a tax code on every line (reference/qbo.md §2.8)
        codes = client.sales_tax_rates(tenant_id)
        detail["TaxCodeRef"] = {"value": next(iter(codes), "")}
    return {
        "CustomerRef": {"value": customer_id},
        "DocNumber": number,
        "PrivateNote": MARK,
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": AMOUNT,
                "Description": MARK,
                "SalesItemLineDetail": detail,
            }
        ],
    }


def _qbo_void(client: QboClient, tenant_id: str, invoice_id: str) -> CheckResult:
    current = client.read_invoice(tenant_id, invoice_id)
    body = {"Id": invoice_id, "SyncToken": current.sync_token}
    item = BatchItem("Invoice", body, request_id=f"smoke-void-{invoice_id}", operation="void")
    result = client.batch(tenant_id, [item])[0]
    if result.fault is not None:
        return failed(QBO_VOID, str(result.fault))
    after = client.read_invoice(tenant_id, invoice_id)
    if after.total != 0:
        return failed(QBO_VOID, f"invoice {invoice_id} still totals {after.total}")
    return passed(QBO_VOID, f"invoice {invoice_id} now totals {after.total}")
