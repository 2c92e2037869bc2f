"""Read what landed in the Xero and QBO sandboxes, with tokens of our own, not the tenant's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import requests

from invoicesync.domain.money import from_minor_units
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID


def _decimal_json(response: requests.Response) -> dict:
    response.raise_for_status()
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


@dataclass(frozen=True)
class LedgerInvoice:
    """One destination invoice, as the checks compare it with Keap's order."""

    id: str
    number: str
    status: str
    total: Decimal
    tax: Decimal
    due: Decimal
    paid: Decimal


class XeroLedger:
    def __init__(self, base_url: str, organisation_id: str) -> None:
        self.base_url = base_url
        issued = requests.post(
            f"{base_url}/_sandbox/token",
            json={"client_id": DEMO_CLIENT_ID, "tenant_id": organisation_id},
            timeout=5,
        ).json()
        self._headers = {
            "Authorization": f"Bearer {issued['access_token']}",
            "xero-tenant-id": organisation_id,
            "Accept": "application/json",
        }

    def invoices(self, *numbers: str) -> list[LedgerInvoice]:
        """Every non-deleted invoice carrying one of `numbers` (duplicates included)."""
        rows = []
        for start in range(0, len(numbers), 40):
            rows += _decimal_json(
                requests.get(
                    f"{self.base_url}/api.xro/2.0/Invoices",
                    params={"InvoiceNumbers": ",".join(numbers[start : start + 40])},
                    headers=self._headers,
                    timeout=10,
                )
            ).get("Invoices", [])
        return [
            LedgerInvoice(
                id=row["InvoiceID"],
                number=row["InvoiceNumber"],
                status=row["Status"],
                total=row["Total"],
                tax=row["TotalTax"],
                due=row["AmountDue"],
                paid=row["AmountPaid"],
            )
            for row in rows
            if row["Status"] not in ("DELETED", "VOIDED")
        ]

    def line_with_unit_amount(self, invoice_id: str, unit_amount: Decimal) -> list[dict]:
        """The invoice's lines as an edit sends them, the first at a new unit amount."""
        kept = ("LineItemID", "Description", "Quantity", "UnitAmount", "AccountCode", "TaxType")
        lines = [
            {name: line[name] for name in kept if name in line}
            for line in self.invoice_lines(invoice_id)
        ]
        lines[0]["UnitAmount"] = unit_amount
        return lines

    def invoice_lines(self, invoice_id: str) -> list[dict]:
        return self.invoice(invoice_id)["LineItems"]

    def invoice(self, invoice_id: str) -> dict:
        """The whole invoice element, as a bookkeeper opening it in Xero would read it."""
        body = _decimal_json(
            requests.get(
                f"{self.base_url}/api.xro/2.0/Invoices/{invoice_id}",
                headers=self._headers,
                timeout=10,
            )
        )
        return body["Invoices"][0]

    def payment_amounts(self, invoice_id: str) -> list[Decimal]:
        """The amounts of the payments applied to the invoice, oldest first."""
        return [payment["Amount"] for payment in self.invoice(invoice_id).get("Payments", [])]

    def edit_invoice(self, invoice_id: str, changes: dict) -> dict:
        """A bookkeeper's edit in Xero (updateOrCreateInvoices with the InvoiceID)."""
        element = {"InvoiceID": invoice_id} | changes
        response = requests.post(
            f"{self.base_url}/api.xro/2.0/Invoices",
            params={"summarizeErrors": "false"},
            data=json.dumps({"Invoices": [element]}, default=float),
            headers=self._headers | {"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = _decimal_json(response)
        [invoice] = body["Invoices"]
        assert not invoice.get("HasErrors"), invoice
        return invoice

    def record_payment(self, invoice_id: str, amount: Decimal) -> str:
        """A payment a bookkeeper enters in Xero against the invoice; returns its id."""
        element = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Date": "2026-03-10",
            "Amount": float(amount),  # a JSON number, as Xero takes money
        }
        body = _decimal_json(
            requests.put(
                f"{self.base_url}/api.xro/2.0/Payments",
                params={"summarizeErrors": "false"},
                json={"Payments": [element]},
                headers=self._headers,
                timeout=10,
            )
        )
        [payment] = body["Payments"]
        assert not payment.get("HasValidationErrors"), payment
        return payment["PaymentID"]


class QboLedger:
    def __init__(self, base_url: str, realm_id: str) -> None:
        self.base_url = base_url
        self.realm_id = realm_id
        issued = requests.post(
            f"{base_url}/_sandbox/token",
            json={"client_id": DEMO_CLIENT_ID, "realm_id": realm_id},
            timeout=5,
        ).json()
        self._headers = {
            "Authorization": f"Bearer {issued['access_token']}",
            "Accept": "application/json",
        }

    def query(self, statement: str) -> list[dict]:
        body = _decimal_json(
            requests.get(
                f"{self.base_url}/v3/company/{self.realm_id}/query",
                params={"query": statement, "minorversion": "75"},
                headers=self._headers,
                timeout=10,
            )
        )
        return body["QueryResponse"].get(statement.split()[3], [])

    def items_by_name(self) -> dict[str, str]:
        return {row["Name"]: str(row["Id"]) for row in self.query("select * from Item")}

    def invoices(self, *numbers: str) -> list[LedgerInvoice]:
        wanted = ", ".join(f"'{number}'" for number in numbers)
        rows = self.query(f"select * from Invoice where DocNumber in ({wanted}) maxresults 1000")
        return [
            LedgerInvoice(
                id=str(row["Id"]),
                number=row["DocNumber"],
                status="",
                total=row["TotalAmt"],
                tax=row.get("TxnTaxDetail", {}).get("TotalTax", Decimal("0")),
                due=row["Balance"],
                paid=row["TotalAmt"] - row["Balance"],
            )
            for row in rows
        ]

    def invoice_rows(self, *numbers: str) -> list[dict]:
        """The whole Invoice entities numbered `numbers`, lines included."""
        wanted = ", ".join(f"'{number}'" for number in numbers)
        return self.query(f"select * from Invoice where DocNumber in ({wanted}) maxresults 1000")

    def payment_amounts(self, invoice_id: str) -> list[Decimal]:
        """The amounts of the payments linked to the invoice."""
        return [payment["TotalAmt"] for payment in self.payments_linked_to(invoice_id)]

    def record_payment(self, invoice_id: str, amount: Decimal) -> str:
        """A payment a bookkeeper enters in QBO against the invoice; returns its id."""
        [invoice] = self.query(f"select * from Invoice where Id = '{invoice_id}'")
        body = {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": str(amount),
            "TxnDate": "2026-03-10",
            "Line": [
                {"Amount": str(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        }
        created = _decimal_json(
            requests.post(
                f"{self.base_url}/v3/company/{self.realm_id}/payment",
                params={"minorversion": "75"},
                json=body,
                headers=self._headers | {"Content-Type": "application/json"},
                timeout=10,
            )
        )
        return str(created["Payment"]["Id"])

    def invoice(self, invoice_id: str) -> dict:
        [row] = self.query(f"select * from Invoice where Id = '{invoice_id}'")
        return row

    def edit_first_line(self, invoice_id: str, unit_price: Decimal) -> dict:
        """A bookkeeper's edit in QBO: the first item line at a new unit price (a sparse
        update sends every line it keeps, qbo.md §2.5)."""
        stored = self.invoice(invoice_id)
        lines = [line for line in stored["Line"] if line["DetailType"] != "SubTotalLineDetail"]
        first = next(line for line in lines if line["DetailType"] == "SalesItemLineDetail")
        detail = first["SalesItemLineDetail"]
        detail["UnitPrice"] = unit_price
        first["Amount"] = unit_price * detail["Qty"]
        body = {"Id": invoice_id, "SyncToken": stored["SyncToken"], "sparse": True, "Line": lines}
        return self._write("invoice", body)["Invoice"]

    def delete_invoice(self, invoice_id: str) -> None:
        stored = self.invoice(invoice_id)
        body = {"Id": invoice_id, "SyncToken": stored["SyncToken"]}
        self._write("invoice", body, operation="delete")

    def _write(self, entity: str, body: dict, **params: str) -> dict:
        response = requests.post(
            f"{self.base_url}/v3/company/{self.realm_id}/{entity}",
            params={"minorversion": "75", **params},
            data=json.dumps(body, default=float),  # JSON numbers, as QBO takes money
            headers=self._headers | {"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return _decimal_json(response)

    def payments_linked_to(self, invoice_id: str) -> list[dict]:
        return [
            payment
            for payment in self.query("select * from Payment maxresults 1000")
            if any(
                linked.get("TxnType") == "Invoice" and str(linked.get("TxnId")) == invoice_id
                for line in payment.get("Line", [])
                for linked in line.get("LinkedTxn", [])
            )
        ]


def landed(ledger: XeroLedger | QboLedger, number: str, **expected) -> LedgerInvoice | None:
    """The one invoice numbered `number` once it shows every expected field, else None."""
    found = ledger.invoices(number)
    if len(found) == 1 and all(getattr(found[0], k) == v for k, v in expected.items()):
        return found[0]
    return None


@dataclass(frozen=True)
class KeapFigures:
    """Keap's own figures for an order, which the ledger must show to the cent."""

    invoice_number: str
    total: Decimal
    tax: Decimal
    paid: Decimal
    due: Decimal


def keap_figures(order: dict) -> KeapFigures:
    currency = order["total"]["currency_code"]

    def amount(name: str) -> Decimal:
        return from_minor_units(order[name]["amount"], currency)

    tax_cents = sum(
        item["price_per_unit"]["amount"] * item["quantity"]
        for item in order["order_items"]
        if item["item_type"] == "TAX"
    )
    return KeapFigures(
        invoice_number=str(order.get("invoice_number") or order["invoice_id"]),
        total=amount("total"),
        tax=from_minor_units(tax_cents, currency),
        paid=amount("total_paid"),
        due=amount("total_due"),
    )
