"""Credit notes, allocations, refunds and payment deletion on the Xero stand-in (Flask client)."""

from datetime import datetime, timedelta

import pytest

from invoicesync_sandbox.xero import allocation_rules, invoice_status, payment_rules
from invoicesync_sandbox.xero.app import create_app

API = "/api.xro/2.0"


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def api(xero_session):
    client, headers, _ = xero_session
    return Api(client, headers)


class Api:
    """The test client with the tenant's headers, and the few calls every test repeats."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def get(self, path, **headers):
        return self.client.get(API + path, headers=self.headers | headers)

    def put(self, path, body):
        return self.client.put(API + path, headers=self.headers, json=body)

    def post(self, path, body):
        return self.client.post(API + path, headers=self.headers, json=body)

    def contact(self, name="Liam Gallagher"):
        reply = self.put("/Contacts", {"Contacts": [{"Name": name}]})
        return reply.get_json()["Contacts"][0]["ContactID"]

    def invoice(self, contact_id, amount=40, **overrides):
        body = {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "Status": "AUTHORISED",
            "LineItems": [_line(amount)],
        } | overrides
        reply = self.put("/Invoices?summarizeErrors=false", {"Invoices": [body]})
        return reply.get_json()["Invoices"][0]

    def credit_note(self, contact_id, amount=30, **overrides):
        body = {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": contact_id},
            "Status": "AUTHORISED",
            "LineItems": [_line(amount)],
        } | overrides
        reply = self.put("/CreditNotes?summarizeErrors=false", {"CreditNotes": [body]})
        return reply.get_json()["CreditNotes"][0]

    def allocate(self, credit_note_id, invoice_id, amount, query=""):
        allocation = {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": "2026-05-02"}
        return self.put(
            f"/CreditNotes/{credit_note_id}/Allocations{query}", {"Allocations": [allocation]}
        )

    def pay(self, target, amount):
        payment = {"Account": {"Code": "090"}, "Amount": amount, "Date": "2026-05-03"} | target
        return self.put("/Payments?summarizeErrors=false", {"Payments": [payment]})

    def fetch_invoice(self, invoice_id):
        return self.get(f"/Invoices/{invoice_id}").get_json()["Invoices"][0]

    def fetch_credit_note(self, credit_note_id):
        return self.get(f"/CreditNotes/{credit_note_id}").get_json()["CreditNotes"][0]


def _line(amount, tax_type="NONE"):
    return {
        "Description": "Widget",
        "Quantity": 1,
        "UnitAmount": amount,
        "AccountCode": "200",
        "TaxType": tax_type,
    }


def test_spec_example_credit_note_is_created_with_xeros_totals(api, xero_spec):
    body = xero_spec["paths"]["/CreditNotes"]["put"]["requestBody"]["content"]["application/json"]
    example = body["example"]
    example["CreditNotes"][0]["Contact"]["ContactID"] = api.contact()
    reply = api.put("/CreditNotes", example)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    created = reply.get_json()["CreditNotes"][0]
    # 2 x 20.00 on account 400, whose default tax is 15% INPUT
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (40.0, 6.0, 46.0)
    assert created["Type"] == "ACCPAYCREDIT" and created["Status"] == "DRAFT"
    assert created["RemainingCredit"] == 46.0 and created["Allocations"] == []
    assert "AmountDue" not in created
    fetched = api.fetch_credit_note(created["CreditNoteID"])
    assert fetched["CreditNoteNumber"] == created["CreditNoteNumber"]


def test_sales_credit_note_tax_is_rounded_per_line(api):
    lines = [_line(25.43, "OUTPUT")] * 3
    created = api.credit_note(api.contact(), LineItems=lines)
    assert created["TotalTax"] == 11.43  # 3 x 3.81, not 15% of 76.29
    assert created["Total"] == 87.72 and created["RemainingCredit"] == 87.72


def test_credit_note_batch_reports_each_failing_element(api):
    contact_id = api.contact()
    good = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": "CN-9",
    }
    discounted = good | {
        "CreditNoteNumber": "CN-10",
        "LineItems": [_line(10) | {"DiscountRate": 5}],
    }
    reply = api.put("/CreditNotes?summarizeErrors=false", {"CreditNotes": [good, good, discounted]})
    assert reply.status_code == 200
    first, duplicate, discount = reply.get_json()["CreditNotes"]
    assert first["StatusAttributeString"] == "OK" and not first["HasErrors"]
    assert duplicate["HasErrors"] and duplicate["ValidationErrors"] == [
        {"Message": "Credit Note # must be unique."}
    ]
    assert discount["ValidationErrors"][0]["Message"].startswith("Discounts are not supported")


def test_credit_note_batch_without_summarize_errors_is_a_400_that_keeps_the_valid_ones(api):
    contact_id = api.contact()
    good = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}}
    bad = good | {"Status": "PAID"}
    reply = api.put("/CreditNotes", {"CreditNotes": [good, bad]})
    assert reply.status_code == 400
    error = reply.get_json()
    assert error["Type"] == "ValidationException"
    assert error["Elements"][0]["ValidationErrors"] == [
        {"Message": "Credit Notes cannot be created with the status PAID."}
    ]
    assert len(api.get("/CreditNotes").get_json()["CreditNotes"]) == 1


def test_credit_note_list_filters_by_where_modified_since_and_pages(api):
    contact_id = api.contact()
    draft = api.credit_note(contact_id, Status="DRAFT")
    api.client.post("/_sandbox/clock", json={"advance_seconds": 120})
    later = api.credit_note(contact_id)
    authorised = api.get('/CreditNotes?where=Status=="AUTHORISED"').get_json()["CreditNotes"]
    assert [c["CreditNoteID"] for c in authorised] == [later["CreditNoteID"]]
    drafted = datetime.fromisoformat(draft["UpdatedDateUTCString"].replace("Z", "+00:00"))
    stamp = (drafted + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = api.get("/CreditNotes", **{"If-Modified-Since": stamp}).get_json()["CreditNotes"]
    assert [c["CreditNoteID"] for c in recent] == [later["CreditNoteID"]]
    unpaged = api.get("/CreditNotes").get_json()
    assert "pagination" not in unpaged and unpaged["CreditNotes"][0]["LineItems"] == []
    paged = api.get("/CreditNotes?page=1&pageSize=1").get_json()
    assert paged["pagination"] == {"page": 1, "pageSize": 1, "pageCount": 2, "itemCount": 2}
    assert paged["CreditNotes"][0]["CreditNoteID"] == draft["CreditNoteID"]
    assert paged["CreditNotes"][0]["LineItems"]


def test_allocation_reduces_amount_due_and_remaining_credit_then_pays_the_invoice(api):
    contact_id = api.contact()
    invoice = api.invoice(contact_id, amount=40)
    credit_note = api.credit_note(contact_id, amount=50)
    reply = api.allocate(credit_note["CreditNoteID"], invoice["InvoiceID"], 15)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["Allocations"][0]["Amount"] == 15.0
    partly = api.fetch_invoice(invoice["InvoiceID"])
    assert (partly["AmountDue"], partly["AmountCredited"], partly["Status"]) == (
        25.0,
        15.0,
        "AUTHORISED",
    )
    assert partly["CreditNotes"][0]["CreditNoteID"] == credit_note["CreditNoteID"]
    assert api.fetch_credit_note(credit_note["CreditNoteID"])["RemainingCredit"] == 35.0
    api.allocate(credit_note["CreditNoteID"], invoice["InvoiceID"], 25)
    paid = api.fetch_invoice(invoice["InvoiceID"])
    assert paid["Status"] == "PAID" and paid["AmountDue"] == 0 and "FullyPaidOnDate" in paid
    credit = api.fetch_credit_note(credit_note["CreditNoteID"])
    assert credit["RemainingCredit"] == 10.0 and len(credit["Allocations"]) == 2


def test_over_allocation_is_refused_with_xeros_message_and_changes_nothing(api):
    contact_id = api.contact()
    invoice = api.invoice(contact_id, amount=100)
    credit_note = api.credit_note(contact_id, amount=30)
    reply = api.allocate(credit_note["CreditNoteID"], invoice["InvoiceID"], 30.01)
    assert reply.status_code == 400 and reply.get_json()["Type"] == "ValidationException"
    assert reply.get_json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "Credit Note cannot be allocated as amount is greater than amount outstanding"}
    ]
    assert api.fetch_invoice(invoice["InvoiceID"])["AmountDue"] == 100.0
    assert api.fetch_credit_note(credit_note["CreditNoteID"])["RemainingCredit"] == 30.0


def test_allocation_needs_an_authorised_credit_note_and_an_open_invoice_of_the_same_contact(api):
    contact_id, other_id = api.contact(), api.contact("Noel Gallagher")
    draft_credit = api.credit_note(contact_id, Status="DRAFT")
    credit_note = api.credit_note(contact_id)
    others_invoice = api.invoice(other_id)
    draft_invoice = api.invoice(contact_id, Status="DRAFT")
    cases = [
        (draft_credit, api.invoice(contact_id), allocation_rules.CREDIT_NOTE_NOT_AUTHORISED),
        (credit_note, others_invoice, allocation_rules.OTHER_CONTACT),
        (credit_note, draft_invoice, allocation_rules.INVOICE_NOT_AUTHORISED),
    ]
    for credit, invoice, message in cases:
        reply = api.allocate(
            credit["CreditNoteID"], invoice["InvoiceID"], 1, query="?summarizeErrors=false"
        )
        element = reply.get_json()["Allocations"][0]
        assert reply.status_code == 200 and element["StatusAttributeString"] == "ERROR"
        assert element["ValidationErrors"] == [{"Message": message}]


def test_deleting_an_allocation_restores_both_balances(api):
    contact_id = api.contact()
    invoice = api.invoice(contact_id, amount=20)
    credit_note = api.credit_note(contact_id, amount=20)
    api.allocate(credit_note["CreditNoteID"], invoice["InvoiceID"], 20)
    allocation_id = api.fetch_credit_note(credit_note["CreditNoteID"])["Allocations"][0][
        "AllocationID"
    ]
    reply = api.client.delete(
        f"{API}/CreditNotes/{credit_note['CreditNoteID']}/Allocations/{allocation_id}",
        headers=api.headers,
    )
    assert reply.status_code == 200 and reply.get_json()["IsDeleted"] is True
    reopened = api.fetch_invoice(invoice["InvoiceID"])
    assert (reopened["Status"], reopened["AmountDue"], reopened["CreditNotes"]) == (
        "AUTHORISED",
        20.0,
        [],
    )
    credit = api.fetch_credit_note(credit_note["CreditNoteID"])
    assert credit["Status"] == "AUTHORISED" and credit["RemainingCredit"] == 20.0


def test_cash_refund_reduces_remaining_credit_and_cannot_exceed_it(api):
    credit_note = api.credit_note(api.contact(), amount=30)
    target = {"CreditNote": {"CreditNoteID": credit_note["CreditNoteID"]}}
    too_much = api.pay(target, 30.01).get_json()["Payments"][0]
    assert too_much["ValidationErrors"] == [{"Message": payment_rules.EXCEEDS_OUTSTANDING}]
    refund = api.pay(target | {"Reference": "Partial refund"}, 12.5).get_json()["Payments"][0]
    assert refund["PaymentType"] == "ARCREDITPAYMENT" and not refund["HasValidationErrors"]
    assert refund["CreditNote"]["CreditNoteID"] == credit_note["CreditNoteID"]
    credit = api.fetch_credit_note(credit_note["CreditNoteID"])
    assert credit["RemainingCredit"] == 17.5 and credit["Payments"][0]["Amount"] == 12.5
    api.pay(target, 17.5)
    assert api.fetch_credit_note(credit_note["CreditNoteID"])["Status"] == "PAID"


def test_deleting_a_payment_restores_amount_due_and_status(api):
    invoice = api.invoice(api.contact(), amount=40)
    payment = api.pay({"Invoice": {"InvoiceID": invoice["InvoiceID"]}}, 40).get_json()
    payment_id = payment["Payments"][0]["PaymentID"]
    assert api.fetch_invoice(invoice["InvoiceID"])["Status"] == "PAID"
    reply = api.post(f"/Payments/{payment_id}", {"Status": "DELETED"})
    assert reply.status_code == 200 and reply.get_json()["Payments"][0]["Status"] == "DELETED"
    reopened = api.fetch_invoice(invoice["InvoiceID"])
    assert (reopened["Status"], reopened["AmountDue"], reopened["AmountPaid"]) == (
        "AUTHORISED",
        40.0,
        0.0,
    )
    assert reopened["Payments"] == [] and "FullyPaidOnDate" not in reopened
    again = api.post(f"/Payments/{payment_id}?summarizeErrors=false", {"Status": "DELETED"})
    assert again.get_json()["Payments"][0]["ValidationErrors"] == [
        {"Message": payment_rules.ALREADY_DELETED}
    ]


def test_deleting_a_refund_in_the_specs_wrapped_form_restores_remaining_credit(api):
    credit_note = api.credit_note(api.contact(), amount=30)
    refund = api.pay({"CreditNote": {"CreditNoteID": credit_note["CreditNoteID"]}}, 30)
    payment_id = refund.get_json()["Payments"][0]["PaymentID"]
    reply = api.post(f"/Payments/{payment_id}", {"Payments": [{"Status": "DELETED"}]})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    credit = api.fetch_credit_note(credit_note["CreditNoteID"])
    assert (credit["Status"], credit["RemainingCredit"]) == ("AUTHORISED", 30.0)


def test_a_payment_can_only_be_deleted_not_edited(api):
    invoice = api.invoice(api.contact())
    payment = api.pay({"Invoice": {"InvoiceID": invoice["InvoiceID"]}}, 5).get_json()
    reply = api.post(f"/Payments/{payment['Payments'][0]['PaymentID']}", {"Status": "AUTHORISED"})
    assert reply.status_code == 400
    assert reply.get_json()["Elements"][0]["ValidationErrors"] == [
        {"Message": payment_rules.ONLY_DELETION}
    ]


def _edit(api, invoice_id, change):
    reply = api.post(f"/Invoices/{invoice_id}?summarizeErrors=false", {"Invoices": [change]})
    return reply.get_json()["Invoices"][0]


def test_authorised_invoice_is_editable_until_a_payment_is_applied(api):
    invoice = api.invoice(api.contact(), amount=40)
    edited = _edit(api, invoice["InvoiceID"], {"LineItems": [_line(50)]})
    assert not edited["HasErrors"] and edited["Total"] == 50.0 and edited["AmountDue"] == 50.0
    payment = api.pay({"Invoice": {"InvoiceID": invoice["InvoiceID"]}}, 10).get_json()
    refused = _edit(api, invoice["InvoiceID"], {"LineItems": [_line(60)]})
    assert refused["ValidationErrors"] == [{"Message": invoice_status.ALLOCATED}]
    assert not _edit(api, invoice["InvoiceID"], {"Reference": "PO 77"})["HasErrors"]
    voided = _edit(api, invoice["InvoiceID"], {"Status": "VOIDED"})
    assert voided["ValidationErrors"][0]["Message"] == (
        "The status VOIDED cannot be applied to the invoice because it has payments or credit "
        "notes allocated to it."
    )
    api.post(f"/Payments/{payment['Payments'][0]['PaymentID']}", {"Status": "DELETED"})
    assert _edit(api, invoice["InvoiceID"], {"Status": "VOIDED"})["Status"] == "VOIDED"
    assert api.fetch_invoice(invoice["InvoiceID"])["AmountDue"] == 0


def test_authorised_invoice_with_a_credit_allocation_is_frozen_including_its_contact(api):
    contact_id = api.contact()
    invoice = api.invoice(contact_id, amount=40)
    credit_note = api.credit_note(contact_id, amount=10)
    api.allocate(credit_note["CreditNoteID"], invoice["InvoiceID"], 10)
    refused = _edit(api, invoice["InvoiceID"], {"LineItems": [_line(60)]})
    assert refused["ValidationErrors"] == [{"Message": invoice_status.ALLOCATED}]
    moved = _edit(api, invoice["InvoiceID"], {"Contact": {"ContactID": api.contact("Bonehead")}})
    assert moved["ValidationErrors"] == [{"Message": invoice_status.ALLOCATED}]


def test_only_draft_or_submitted_documents_can_be_deleted(api):
    contact_id = api.contact()
    authorised = api.invoice(contact_id)
    refused = _edit(api, authorised["InvoiceID"], {"Status": "DELETED"})
    assert refused["ValidationErrors"] == [{"Message": invoice_status.NOT_MODIFIABLE}]
    draft = api.invoice(contact_id, Status="DRAFT")
    assert _edit(api, draft["InvoiceID"], {"Status": "DELETED"})["Status"] == "DELETED"
    credit_note = api.credit_note(contact_id)
    reply = api.post(
        f"/CreditNotes/{credit_note['CreditNoteID']}?summarizeErrors=false",
        {"CreditNotes": [{"Status": "DELETED"}]},
    )
    assert reply.get_json()["CreditNotes"][0]["ValidationErrors"] == [
        {"Message": invoice_status.NOT_MODIFIABLE}
    ]
    voided = api.post(f"/CreditNotes/{credit_note['CreditNoteID']}", {"Status": "VOIDED"})
    assert voided.get_json()["CreditNotes"][0]["RemainingCredit"] == 0


def test_request_over_xeros_size_limit_gets_413_and_stores_nothing(api):
    contact_id = api.contact()
    padding = "x" * 3_500_000
    body = {
        "Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Reference": padding}]
    }
    reply = api.put("/Invoices", body)
    assert reply.status_code == 413 and "Request Entity Too Large" in reply.get_data(as_text=True)
    assert api.get("/Invoices").get_json()["Invoices"] == []


def test_batch_above_the_recommended_fifty_elements_is_still_accepted(api):
    contact_id = api.contact()
    invoices = [{"Type": "ACCREC", "Contact": {"ContactID": contact_id}} for _ in range(60)]
    reply = api.put("/Invoices?summarizeErrors=false", {"Invoices": invoices})
    assert reply.status_code == 200 and len(reply.get_json()["Invoices"]) == 60
