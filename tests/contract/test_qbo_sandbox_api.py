"""The QBO stand-in's Accounting API through the Flask test client: entities, business rules
(6070, 6140, 6240, 5010, 6000), payments, minorversion, requestid replay, query and CDC."""

import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from invoicesync_sandbox.qbo.app import create_app
from invoicesync_sandbox.qbo.state import QboState


@dataclass
class Qbo:
    client: FlaskClient
    state: QboState
    realm: str
    token: str

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm}/{path}"

    def call(self, method: str, path: str, body=None, **params):
        params.setdefault("minorversion", "75")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        return self.client.open(
            self.url(path), method=method, json=body, query_string=params, headers=headers
        )

    def ok(self, method: str, path: str, body=None, **params) -> dict:
        response = self.call(method, path, body, **params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return json.loads(response.get_data(), parse_float=Decimal)

    def fault(self, method: str, path: str, body=None, **params) -> dict:
        response = self.call(method, path, body, **params)
        assert response.status_code == 400, response.get_data(as_text=True)
        return response.get_json()["Fault"]["Error"][0]

    def query(self, statement: str) -> dict:
        return self.ok("GET", "query", query=statement)["QueryResponse"]

    def item_id(self, name: str) -> str:
        return self.query(f"select * from Item where Name = '{name}'")["Item"][0]["Id"]

    def customer(self, name: str = "Ada Lovelace", email: str = "ada@example.com") -> str:
        body = {"DisplayName": name, "PrimaryEmailAddr": {"Address": email}}
        return self.ok("POST", "customer", body)["Customer"]["Id"]

    def invoice(self, customer_id: str, doc: str | None = None, lines=None, **extra) -> dict:
        body = {"CustomerRef": {"value": customer_id}, "Line": lines or [self.line()], **extra}
        if doc is not None:
            body["DocNumber"] = doc
        return self.ok("POST", "invoice", body)["Invoice"]

    def line(self, qty="3", price="50.00", amount="150.00", code="NON", item="Services") -> dict:
        detail = {
            "ItemRef": {"value": self.item_id(item)},
            "Qty": Decimal(qty),
            "UnitPrice": Decimal(price),
            "TaxCodeRef": {"value": code},
        }
        return {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal(amount),
            "SalesItemLineDetail": detail,
        }


def connect(country: str = "US") -> Qbo:
    app = create_app()
    client = app.test_client()
    token = client.post("/_sandbox/token", json={"company_name": "Acme", "country": country})
    body = token.get_json()
    return Qbo(client, app.extensions["sandbox_state"], body["realmId"], body["access_token"])


@pytest.fixture
def qbo() -> Qbo:
    return connect()


def payment_body(customer: str, invoice_id: str, total, applied) -> dict:
    """A Payment of `total` from the customer, `applied` of it linked to the invoice."""
    return {
        "CustomerRef": {"value": customer},
        "TotalAmt": total,
        "Line": [{"Amount": applied, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
    }


def test_invoice_create_computes_subtotal_line_totals_balance_and_doc_number(qbo):
    invoice = qbo.invoice(qbo.customer())
    assert invoice["SyncToken"] == "0"
    assert invoice["TotalAmt"] == Decimal("150")
    assert invoice["Balance"] == Decimal("150")
    assert invoice["Line"][-1] == {
        "Amount": Decimal("150"),
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["DocNumber"] == "1001"
    assert invoice["MetaData"]["CreateTime"].endswith("-08:00")


def test_responses_carry_time_and_an_intuit_tid_header(qbo):
    response = qbo.call("GET", "preferences")
    assert response.headers["intuit_tid"]
    assert "time" in response.get_json()


def test_invoice_with_line_amount_not_qty_times_price_is_refused_with_6070(qbo):
    line = qbo.line(qty="3", price="0.335", amount="1.00")  # 1.005 rounds half-up to 1.01
    error = qbo.fault("POST", "invoice", {"CustomerRef": {"value": qbo.customer()}, "Line": [line]})
    assert error["code"] == "6070"
    assert error["Detail"].endswith("Supplied value:1.00")


def test_duplicate_doc_number_is_6140_with_the_existing_txn_id(qbo):
    customer = qbo.customer()
    first = qbo.invoice(customer, doc="KEAP-10423")
    error = qbo.fault(
        "POST",
        "invoice",
        {"CustomerRef": {"value": customer}, "DocNumber": "KEAP-10423", "Line": [qbo.line()]},
    )
    assert error["code"] == "6140"
    assert error["Message"] == "Duplicate Document Number Error"
    assert error["Detail"] == (
        "Duplicate Document Number Error : You must specify a different number. This number "
        "has already been used. DocNumber=KEAP-10423 is assigned to TxnType=Invoice with "
        f"TxnId={first['Id']}"
    )


def test_duplicate_doc_number_is_allowed_with_include_allowduplicatedocnum(qbo):
    customer = qbo.customer()
    qbo.invoice(customer, doc="K-1")
    body = {"CustomerRef": {"value": customer}, "DocNumber": "K-1", "Line": [qbo.line()]}
    assert qbo.ok("POST", "invoice", body, include="allowduplicatedocnum")["Invoice"]["Id"]


def test_doc_number_longer_than_21_characters_is_refused(qbo):
    error = qbo.fault(
        "POST",
        "invoice",
        {"CustomerRef": {"value": qbo.customer()}, "DocNumber": "K" * 22, "Line": [qbo.line()]},
    )
    assert error["element"] == "DocNumber"


def test_custom_txn_numbers_leave_doc_number_empty(qbo):
    qbo.client.put(f"/_sandbox/qbo/companies/{qbo.realm}", json={"custom_txn_numbers": True})
    assert qbo.invoice(qbo.customer())["DocNumber"] is None


def test_a_company_with_history_holds_invoices_numbered_like_a_real_one(qbo):
    reply = qbo.client.put(f"/_sandbox/qbo/companies/{qbo.realm}", json={"invoice_history": True})
    numbers = [row["DocNumber"] for row in reply.get_json()["invoice_history"]]
    assert {"1", "2", "1001", "1010"} <= set(numbers)
    found = qbo.ok("GET", "query", query="select * from Invoice where DocNumber = '1001'")
    [invoice] = found["QueryResponse"]["Invoice"]
    assert "Keap" not in invoice["PrivateNote"]
    assert qbo.fault("POST", "invoice", _doc(qbo, "1001"))["code"] == "6140"
    assert qbo.invoice(qbo.customer("Next"))["DocNumber"] == "1011"


def test_with_custom_numbers_qbos_sequence_follows_the_numbers_a_client_pushes(qbo):
    qbo.client.put(f"/_sandbox/qbo/companies/{qbo.realm}", json={"custom_txn_numbers": True})
    qbo.ok("POST", "invoice", _doc(qbo, "58231"))
    next_one = qbo.ok("POST", "invoice", _doc(qbo, "AUTO_GENERATE"))["Invoice"]
    assert next_one["DocNumber"] == "58232"


def test_without_custom_numbers_a_pushed_number_can_meet_qbos_own_sequence(qbo):
    """Intuit: with CustomTxnNumbers false, "do not send a value as it can lead to unwanted
    duplicates": QBO's sequence does not see numbers clients send."""
    qbo.ok("POST", "invoice", _doc(qbo, "1001"))
    assert qbo.invoice(qbo.customer("Own numbering"))["DocNumber"] == "1001"


def _doc(qbo, number: str) -> dict:
    return {
        "CustomerRef": {"value": qbo.customer(f"For {number}")},
        "DocNumber": number,
        "Line": [qbo.line()],
    }


def test_duplicate_display_name_is_6240(qbo):
    qbo.customer("Smith Family Store")
    error = qbo.fault("POST", "customer", {"DisplayName": "smith family store"})
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"


def test_display_name_is_built_from_name_parts(qbo):
    body = {"GivenName": "Grace", "FamilyName": "Hopper"}
    assert qbo.ok("POST", "customer", body)["Customer"]["DisplayName"] == "Grace Hopper"


def test_sparse_update_with_current_sync_token_changes_only_given_fields(qbo):
    invoice = qbo.invoice(qbo.customer(), doc="K-7", PrivateNote="keap_invoice_id=7")
    updated = qbo.ok(
        "POST",
        "invoice",
        {
            "Id": invoice["Id"],
            "SyncToken": "0",
            "sparse": True,
            "CustomerMemo": {"value": "thanks"},
        },
    )["Invoice"]
    assert updated["SyncToken"] == "1"
    assert updated["PrivateNote"] == "keap_invoice_id=7"
    assert updated["CustomerMemo"] == {"value": "thanks"}
    assert updated["TotalAmt"] == invoice["TotalAmt"]


def test_update_with_stale_sync_token_is_5010_and_changes_nothing(qbo):
    invoice = qbo.invoice(qbo.customer())
    qbo.ok(
        "POST",
        "invoice",
        {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "first"},
    )
    error = qbo.fault(
        "POST",
        "invoice",
        {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "second"},
    )
    assert error["code"] == "5010"
    assert qbo.ok("GET", f"invoice/{invoice['Id']}")["Invoice"]["PrivateNote"] == "first"


def test_full_update_clears_omitted_writable_fields(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer, PrivateNote="note")
    updated = qbo.ok(
        "POST",
        "invoice",
        {
            "Id": invoice["Id"],
            "SyncToken": "0",
            "CustomerRef": {"value": customer},
            "Line": [qbo.line()],
        },
    )["Invoice"]
    assert updated["PrivateNote"] == ""


def test_unknown_id_is_610(qbo):
    assert qbo.fault("GET", "invoice/424242")["code"] == "610"


def test_us_txn_tax_override_sets_total_tax_and_total(qbo):
    code = qbo.query("select * from TaxCode where Name = 'California'")["TaxCode"][0]["Id"]
    invoice = qbo.invoice(
        qbo.customer(),
        lines=[qbo.line(code="TAX")],
        TxnTaxDetail={"TxnTaxCodeRef": {"value": code}, "TotalTax": "12.34"},
    )
    assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("12.34")
    assert invoice["TotalAmt"] == Decimal("162.34")


def test_non_us_invoice_without_real_tax_codes_is_6000():
    uk = connect("GB")
    error = uk.fault(
        "POST", "invoice", {"CustomerRef": {"value": uk.customer()}, "Line": [uk.line(code="TAX")]}
    )
    assert error["code"] == "6000"
    assert "VAT rate" in error["Detail"]


def test_non_us_invoice_with_a_vat_code_adds_vat():
    uk = connect("GB")
    code = uk.query("select * from TaxCode where Name = '20.0% S'")["TaxCode"][0]["Id"]
    invoice = uk.invoice(uk.customer(), lines=[uk.line(code=code)])
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("30")
    assert invoice["TotalAmt"] == Decimal("180")
    assert invoice["CurrencyRef"] == {"value": "GBP"}


def test_realm_country_flag_switches_the_company_to_non_us_tax(qbo):
    qbo.client.put(f"/_sandbox/qbo/companies/{qbo.realm}", json={"country": "GB"})
    assert qbo.ok("GET", f"companyinfo/{qbo.realm}")["CompanyInfo"]["Country"] == "GB"
    error = qbo.fault(
        "POST",
        "invoice",
        {"CustomerRef": {"value": qbo.customer()}, "Line": [qbo.line(code="NON")]},
    )
    assert error["code"] == "6000"


def test_payment_reduces_balance_and_links_back(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer)
    payment = qbo.ok(
        "POST",
        "payment",
        payment_body(customer, invoice["Id"], "100.00", "100.00"),
    )["Payment"]
    after = qbo.ok("GET", f"invoice/{invoice['Id']}")["Invoice"]
    assert payment["UnappliedAmt"] == Decimal("0")
    assert after["Balance"] == Decimal("50")
    assert {"TxnId": payment["Id"], "TxnType": "Payment"} in after["LinkedTxn"]
    undeposited = qbo.query("select * from Account where AccountSubType = 'UndepositedFunds'")
    assert payment["DepositToAccountRef"]["value"] == undeposited["Account"][0]["Id"]


def test_overpayment_leaves_the_rest_unapplied(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer)
    payment = qbo.ok(
        "POST",
        "payment",
        payment_body(customer, invoice["Id"], 165, 150),
    )["Payment"]
    assert payment["UnappliedAmt"] == Decimal("15")
    assert qbo.ok("GET", f"invoice/{invoice['Id']}")["Invoice"]["Balance"] == Decimal("0")


def test_applying_more_than_the_open_balance_is_refused(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer)
    error = qbo.fault(
        "POST",
        "payment",
        payment_body(customer, invoice["Id"], 200, 200),
    )
    assert error["code"] == "6000"


def test_voiding_a_payment_restores_the_invoice_balance(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer)
    payment = qbo.ok(
        "POST",
        "payment",
        payment_body(customer, invoice["Id"], 150, 150),
    )["Payment"]
    voided = qbo.ok(
        "POST",
        "payment",
        {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
        operation="update",
        include="void",
    )["Payment"]
    assert voided["TotalAmt"] == Decimal("0")
    assert qbo.ok("GET", f"invoice/{invoice['Id']}")["Invoice"]["Balance"] == Decimal("150")


def test_invoice_with_payments_cannot_be_deleted(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer)
    qbo.ok(
        "POST",
        "payment",
        payment_body(customer, invoice["Id"], 10, 10),
    )
    current = qbo.ok("GET", f"invoice/{invoice['Id']}")["Invoice"]
    error = qbo.fault(
        "POST",
        "invoice",
        {"Id": current["Id"], "SyncToken": current["SyncToken"]},
        operation="delete",
    )
    assert error["code"] == "6000"


def test_invoice_delete_answers_with_a_deleted_stub(qbo):
    invoice = qbo.invoice(qbo.customer())
    deleted = qbo.ok("POST", "invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice["Id"]}
    assert qbo.fault("GET", f"invoice/{invoice['Id']}")["code"] == "610"


def test_refund_receipt_requires_a_deposit_account(qbo):
    customer = qbo.customer()
    error = qbo.fault(
        "POST", "refundreceipt", {"CustomerRef": {"value": customer}, "Line": [qbo.line()]}
    )
    assert error["element"] == "DepositToAccountRef"
    bank = qbo.query("select * from Account where Name = 'Checking'")["Account"][0]["Id"]
    refund = qbo.ok(
        "POST",
        "refundreceipt",
        {
            "CustomerRef": {"value": customer},
            "DepositToAccountRef": {"value": bank},
            "Line": [qbo.line()],
        },
    )["RefundReceipt"]
    assert refund["TotalAmt"] == Decimal("150")


def test_credit_memo_has_remaining_credit(qbo):
    memo = qbo.ok(
        "POST", "creditmemo", {"CustomerRef": {"value": qbo.customer()}, "Line": [qbo.line()]}
    )["CreditMemo"]
    assert memo["RemainingCredit"] == Decimal("150")


def test_minorversion_below_75_behaves_as_75(qbo):
    old = qbo.ok("GET", "preferences", minorversion="40")
    current = qbo.ok("GET", "preferences")
    assert old["Preferences"] == current["Preferences"]


def test_minorversion_that_is_not_a_number_is_refused(qbo):
    assert qbo.call("GET", "preferences", minorversion="abc").status_code == 400


def test_same_requestid_replays_the_first_response_without_a_second_create(qbo):
    customer = qbo.customer()
    body = {"CustomerRef": {"value": customer}, "DocNumber": "R-1", "Line": [qbo.line()]}
    first = qbo.call("POST", "invoice", body, requestid="keap-inv-1-v1")
    second = qbo.call("POST", "invoice", body, requestid="keap-inv-1-v1")
    assert second.status_code == 200
    assert second.get_data() == first.get_data()
    assert qbo.query("select count(*) from Invoice") == {"totalCount": 1}


def test_requestid_longer_than_50_characters_is_refused(qbo):
    response = qbo.call("POST", "customer", {"DisplayName": "X"}, requestid="r" * 51)
    assert response.status_code == 400
    assert response.get_json()["Fault"]["Error"][0]["element"] == "requestid"


def test_query_by_doc_number_email_and_display_name(qbo):
    customer = qbo.customer("O'Brien Ltd", "ob@example.com")
    invoice = qbo.invoice(customer, doc="KEAP-55")
    by_doc = qbo.query("select * from Invoice where DocNumber = 'keap-55'")
    by_email = qbo.query("select * from Customer where PrimaryEmailAddr = 'ob@example.com'")
    by_name = qbo.query(r"select * from Customer where DisplayName = 'O\'Brien Ltd'")
    assert [i["Id"] for i in by_doc["Invoice"]] == [invoice["Id"]]
    assert [c["Id"] for c in by_email["Customer"]] == [customer]
    assert [c["Id"] for c in by_name["Customer"]] == [customer]


def test_query_paging_and_ordering(qbo):
    for name in ("Cara", "Abe", "Bea"):
        qbo.customer(name, f"{name}@example.com")
    page = qbo.query("select * from Customer orderby DisplayName startposition 2 maxresults 1")
    assert [c["DisplayName"] for c in page["Customer"]] == ["Bea"]
    assert (page["startPosition"], page["maxResults"]) == (2, 1)


def test_query_by_post_with_text_body(qbo):
    response = qbo.client.post(
        qbo.url("query"),
        data="select * from Item where Sku = 'COACH-60'",
        headers={
            "Authorization": f"Bearer {qbo.token}",
            "Content-Type": "application/text",
            "Accept": "application/json",
        },
    )
    assert response.get_json()["QueryResponse"]["Item"][0]["Name"] == "Coaching Session"


def test_bad_query_is_a_400_parse_fault(qbo):
    error = qbo.fault("GET", "query", query="select * from Invoice where a = 1 or b = 2")
    assert error["code"] == "4000"


def test_cdc_returns_changed_objects_and_deleted_stubs(qbo):
    since = qbo.state.clock.now().isoformat(timespec="seconds")
    qbo.state.clock.advance(1)
    customer = qbo.customer()
    kept = qbo.invoice(customer)
    gone = qbo.invoice(customer)
    qbo.ok("POST", "invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    groups = qbo.ok("GET", "cdc", entities="Invoice,Customer", changedSince=since)["CDCResponse"][
        0
    ]["QueryResponse"]
    invoices = groups[0]["Invoice"]
    assert [i["Id"] for i in invoices] == [kept["Id"], gone["Id"]]
    assert invoices[1]["status"] == "Deleted"
    assert [c["Id"] for c in groups[1]["Customer"]] == [customer]


def test_cdc_with_no_changes_has_one_empty_group(qbo):
    qbo.state.clock.advance(5)
    since = qbo.state.clock.now().isoformat(timespec="seconds")
    body = qbo.ok("GET", "cdc", entities="Invoice", changedSince=since)
    assert body["CDCResponse"] == [{"QueryResponse": [{}]}]


def test_cdc_refuses_windows_older_than_30_days_and_tax_codes(qbo):
    old = "2000-01-01T00:00:00+00:00"
    assert qbo.call("GET", "cdc", entities="Invoice", changedSince=old).status_code == 400
    now = qbo.state.clock.now().isoformat(timespec="seconds")
    assert qbo.call("GET", "cdc", entities="TaxCode", changedSince=now).status_code == 400


def test_cdc_takes_a_date_or_a_whole_second_time_and_refuses_fractions(qbo):
    now = qbo.state.clock.now()
    for accepted in (
        now.date().isoformat(),
        now.isoformat(timespec="seconds"),
        now.strftime("%Y-%m-%dT%H:%M:%S"),
        now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    ):
        assert qbo.call("GET", "cdc", entities="Invoice", changedSince=accepted).status_code == 200
    fractional = now.isoformat(timespec="microseconds")
    refused = qbo.call("GET", "cdc", entities="Invoice", changedSince=fractional)
    assert refused.status_code == 400
    assert refused.get_json()["Fault"]["Error"][0]["element"] == "changedSince"


def test_without_accept_json_the_answer_is_xml(qbo):
    response = qbo.client.get(
        qbo.url(f"companyinfo/{qbo.realm}"), headers={"Authorization": f"Bearer {qbo.token}"}
    )
    text = response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    assert '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"' in text
    assert '<CompanyInfo domain="QBO" sparse="false">' in text


def test_injected_server_errors_use_the_qbo_fault_shape(qbo):
    qbo.client.put("/_sandbox/faults", json={"error_rate": 1.0})
    response = qbo.call("GET", "preferences")
    assert response.status_code == 500
    assert response.get_json()["Fault"]["type"] == "SystemFault"


def test_injected_429_storm_answers_with_the_xml_throttle_body(qbo):
    qbo.client.put("/_sandbox/faults", json={"storm_429_seconds": 30})
    response = qbo.call("GET", "preferences")
    assert response.status_code == 429
    assert "ThrottleExceeded" in response.get_data(as_text=True)


def test_customer_balance_follows_invoices_and_payments(qbo):
    customer = qbo.customer()
    invoice = qbo.invoice(customer)
    qbo.ok(
        "POST",
        "payment",
        payment_body(customer, invoice["Id"], 40, 40),
    )
    stored = qbo.ok("GET", f"customer/{customer}")["Customer"]
    assert stored["Balance"] == Decimal("110")
    assert stored["SyncToken"] == "0"
