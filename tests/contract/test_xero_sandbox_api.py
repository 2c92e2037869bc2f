"""The Xero stand-in over HTTP (Flask test client): auth, contract, business rules, limits."""

import base64

import pytest

from invoicesync_sandbox.xero.app import create_app
from invoicesync_sandbox.xero.events import signature
from invoicesync_sandbox.xero.state import APP_MINUTE, connection_key

BASIC = "Basic " + base64.b64encode(b"invoicesync-demo:demo-secret").decode()


@pytest.fixture
def app():
    return create_app()


def _contact(xero_session, name="Liam Gallagher"):
    client, headers, _ = xero_session
    reply = client.put(
        "/api.xro/2.0/Contacts", headers=headers, json={"Contacts": [{"Name": name}]}
    )
    return reply.get_json()["Contacts"][0]["ContactID"]


def _invoice(contact_id, **overrides):
    body = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Widget",
                "Quantity": 2,
                "UnitAmount": 20,
                "AccountCode": "200",
                "TaxType": "NONE",
            }
        ],
    } | overrides
    return body


def _create(xero_session, *invoices, query="?summarizeErrors=false"):
    client, headers, _ = xero_session
    return client.put(
        f"/api.xro/2.0/Invoices{query}", headers=headers, json={"Invoices": list(invoices)}
    )


def _request_example(xero_spec, path, method):
    return xero_spec["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]


def test_spec_example_contact_and_invoice_and_payment_are_accepted(xero_session, xero_spec):
    client, headers, _ = xero_session
    contacts = _request_example(xero_spec, "/Contacts", "put")
    reply = client.put("/api.xro/2.0/Contacts", headers=headers, json=contacts)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    contact_id = reply.get_json()["Contacts"][0]["ContactID"]
    invoices = _request_example(xero_spec, "/Invoices", "put")
    invoices["Invoices"][0]["Contact"]["ContactID"] = contact_id
    reply = client.put("/api.xro/2.0/Invoices", headers=headers, json=invoices)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    invoice = reply.get_json()["Invoices"][0]
    assert invoice["Total"] == 40.0 and invoice["Status"] == "AUTHORISED"
    payment = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Amount": 40,
        "Date": "2019-03-12",
    }
    reply = client.put("/api.xro/2.0/Payments", headers=headers, json={"Payments": [payment]})
    assert reply.status_code == 200
    paid = client.get(f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}", headers=headers).get_json()
    assert paid["Invoices"][0]["Status"] == "PAID" and paid["Invoices"][0]["AmountDue"] == 0


def test_malformed_body_gets_post_data_invalid_naming_the_element(xero_session):
    client, headers, _ = xero_session
    body = {"Invoices": [{"Type": "ACCREC", "LineItems": [{"Quantity": "two"}]}]}
    reply = client.put("/api.xro/2.0/Invoices", headers=headers, json=body)
    assert reply.status_code == 400
    error = reply.get_json()
    assert error["Type"] == "PostDataInvalidException" and error["ErrorNumber"] == 14
    assert "Invoices[0].LineItems[0].Quantity" in error["Message"]


def test_missing_accept_json_answers_xml(xero_session):
    client, headers, _ = xero_session
    headers = {k: v for k, v in headers.items() if k != "Accept"}
    reply = client.get("/api.xro/2.0/Organisation", headers=headers)
    assert reply.status_code == 200 and reply.content_type.startswith("text/xml")
    assert reply.get_data(as_text=True).startswith("<Response")


def test_missing_or_unconnected_tenant_is_forbidden_and_bad_token_unauthorised(xero_session):
    client, headers, _ = xero_session
    reply = client.get(
        "/api.xro/2.0/Invoices",
        headers=headers | {"xero-tenant-id": "00000000-0000-0000-0000-000000000001"},
    )
    assert reply.status_code == 403 and reply.get_json()["Detail"] == "AuthenticationUnsuccessful"
    reply = client.get("/api.xro/2.0/Invoices", headers=headers | {"Authorization": "Bearer nope"})
    assert reply.status_code == 401


def test_access_token_expires_after_thirty_minutes(xero_session):
    client, headers, _ = xero_session
    client.post("/_sandbox/clock", json={"advance_seconds": 1801})
    reply = client.get("/api.xro/2.0/Invoices", headers=headers)
    assert reply.status_code == 401 and reply.get_json()["Detail"].startswith("TokenExpired")


def _refresh(client, token):
    return client.post(
        "/connect/token",
        headers={"Authorization": BASIC},
        data={"grant_type": "refresh_token", "refresh_token": token},
    )


def test_refresh_token_is_single_use_with_a_thirty_minute_grace(xero_session):
    client, _, issued = xero_session
    first = _refresh(client, issued["refresh_token"])
    assert first.status_code == 200
    again = _refresh(client, issued["refresh_token"])
    assert again.get_json()["refresh_token"] == first.get_json()["refresh_token"]
    client.post("/_sandbox/clock", json={"advance_seconds": 1801})
    late = _refresh(client, issued["refresh_token"])
    assert late.status_code == 400 and late.get_json() == {"error": "invalid_grant"}


def test_authorization_code_flow_and_connections(client):
    reply = client.get(
        "/identity/connect/authorize?response_type=code&client_id=invoicesync-demo&redirect_uri=http://localhost/cb&scope=openid%20offline_access&state=xyz"
    )
    assert reply.status_code == 302 and "state=xyz" in reply.location
    code = reply.location.split("code=")[1].split("&")[0]
    token = client.post(
        "/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost/cb",
            "client_id": "invoicesync-demo",
            "client_secret": "demo-secret",
        },
    )
    assert token.status_code == 200 and token.get_json()["expires_in"] == 1800
    connections = client.get(
        "/connections", headers={"Authorization": "Bearer " + token.get_json()["access_token"]}
    ).get_json()
    assert connections[0]["tenantType"] == "ORGANISATION"
    reuse = client.post(
        "/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost/cb",
            "client_id": "invoicesync-demo",
            "client_secret": "demo-secret",
        },
    )
    assert reuse.get_json() == {"error": "invalid_grant"}


def test_batch_with_summarize_errors_false_reports_each_element(xero_session):
    contact_id = _contact(xero_session)
    reply = _create(
        xero_session,
        _invoice(contact_id, InvoiceNumber="K-1"),
        _invoice(contact_id, InvoiceNumber="K-1"),
    )
    assert reply.status_code == 200
    first, second = reply.get_json()["Invoices"]
    assert first["StatusAttributeString"] == "OK" and not first["HasErrors"]
    assert second["HasErrors"] and second["ValidationErrors"] == [
        {"Message": "Invoice # must be unique."}
    ]


def test_default_batch_is_a_400_but_keeps_the_valid_elements(xero_session):
    client, headers, _ = xero_session
    contact_id = _contact(xero_session)
    reply = _create(
        xero_session,
        _invoice(contact_id, InvoiceNumber="K-2"),
        _invoice(contact_id, InvoiceNumber="K-2"),
        query="",
    )
    assert reply.status_code == 400 and reply.get_json()["Type"] == "ValidationException"
    stored = client.get("/api.xro/2.0/Invoices?InvoiceNumbers=K-2", headers=headers).get_json()
    assert len(stored["Invoices"]) == 1


def test_overpayment_and_payment_on_draft_are_rejected(xero_session):
    client, headers, _ = xero_session
    contact_id = _contact(xero_session)
    invoices = _create(
        xero_session, _invoice(contact_id), _invoice(contact_id, Status="DRAFT")
    ).get_json()["Invoices"]
    payments = [
        {
            "Invoice": {"InvoiceID": invoices[0]["InvoiceID"]},
            "Account": {"Code": "090"},
            "Amount": 40.01,
        },
        {
            "Invoice": {"InvoiceID": invoices[1]["InvoiceID"]},
            "Account": {"Code": "090"},
            "Amount": 1,
        },
    ]
    reply = client.put(
        "/api.xro/2.0/Payments?summarizeErrors=false", headers=headers, json={"Payments": payments}
    )
    over, draft = reply.get_json()["Payments"]
    assert (
        over["ValidationErrors"][0]["Message"]
        == "Payment amount exceeds the amount outstanding on this document"
    )
    assert draft["HasValidationErrors"]


def test_paid_invoice_cannot_be_edited(xero_session):
    client, headers, _ = xero_session
    contact_id = _contact(xero_session)
    invoice = _create(xero_session, _invoice(contact_id)).get_json()["Invoices"][0]
    client.put(
        "/api.xro/2.0/Payments",
        headers=headers,
        json={
            "Payments": [
                {
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                    "Account": {"Code": "090"},
                    "Amount": 10,
                }
            ]
        },
    )
    change = {
        "LineItems": [
            {"Description": "More", "Quantity": 9, "UnitAmount": 20, "AccountCode": "200"}
        ]
    }
    reply = client.post(
        "/api.xro/2.0/Invoices?summarizeErrors=false",
        headers=headers,
        json={"Invoices": [change | {"InvoiceID": invoice["InvoiceID"]}]},
    )
    assert reply.get_json()["Invoices"][0]["ValidationErrors"][0]["Message"].startswith(
        "This document cannot be edited"
    )
    reply = client.post(
        "/api.xro/2.0/Invoices?summarizeErrors=false",
        headers=headers,
        json={"Invoices": [{"InvoiceID": invoice["InvoiceID"], "Status": "DRAFT"}]},
    )
    assert reply.get_json()["Invoices"][0]["HasErrors"]


def test_summarize_errors_is_not_read_where_the_spec_does_not_document_it(xero_session):
    """`POST /Invoices/{InvoiceID}` (updateInvoice) takes no summarizeErrors: a refused
    element is the default 400 ValidationException, whatever the query string says."""
    client, headers, _ = xero_session
    invoice = _create(xero_session, _invoice(_contact(xero_session))).get_json()["Invoices"][0]
    bad_line = {"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "999"}

    reply = client.post(
        f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}?summarizeErrors=false",
        headers=headers,
        json={"LineItems": [bad_line]},
    )

    assert reply.status_code == 400
    assert reply.get_json()["Type"] == "ValidationException"


def test_duplicate_contact_name_is_rejected_with_xeros_message(xero_session):
    client, headers, _ = xero_session
    _contact(xero_session, "Buzz Lightyear")
    reply = client.put(
        "/api.xro/2.0/Contacts", headers=headers, json={"Contacts": [{"Name": "buzz lightyear"}]}
    )
    assert reply.status_code == 400
    message = reply.get_json()["Elements"][0]["ValidationErrors"][0]["Message"]
    assert "already assigned to another contact" in message


def test_idempotency_key_replays_and_refuses_a_different_body(xero_session):
    client, headers, _ = xero_session
    contact_id = _contact(xero_session)
    keyed = headers | {"Idempotency-Key": "k-123"}
    body = {"Invoices": [_invoice(contact_id, InvoiceNumber="IDEM-1")]}
    first = client.put("/api.xro/2.0/Invoices", headers=keyed, json=body)
    second = client.put("/api.xro/2.0/Invoices", headers=keyed, json=body)
    assert first.get_data() == second.get_data()
    listed = client.get("/api.xro/2.0/Invoices?InvoiceNumbers=IDEM-1", headers=headers).get_json()
    assert len(listed["Invoices"]) == 1
    other = client.put(
        "/api.xro/2.0/Invoices", headers=keyed, json={"Invoices": [_invoice(contact_id)]}
    )
    assert other.status_code == 400 and "is used with a different request" in other.get_data(
        as_text=True
    )


def test_minute_limit_gives_429_with_retry_after_and_headers(xero_session):
    client, headers, _ = xero_session
    replies = [client.get("/api.xro/2.0/Organisation", headers=headers) for _ in range(61)]
    assert replies[0].headers["X-MinLimit-Remaining"] == "59"
    assert replies[-1].status_code == 429
    assert replies[-1].headers["X-Rate-Limit-Problem"] == "minute"
    assert int(replies[-1].headers["Retry-After"]) > 0


def test_day_limit_gives_429_naming_the_day(app, xero_session):
    client, headers, issued = xero_session
    state = app.extensions["sandbox_state"]
    from invoicesync_sandbox.xero.state import DAY

    for _ in range(DAY.limit):
        state.limiter.hit(connection_key("invoicesync-demo", issued["tenant_id"]), [DAY])
    reply = client.get("/api.xro/2.0/Organisation", headers=headers)
    assert reply.status_code == 429 and reply.headers["X-Rate-Limit-Problem"] == "day"


def _organisation(client, issued, tenant_id):
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "xero-tenant-id": tenant_id,
        "Accept": "application/json",
    }
    return client.get("/api.xro/2.0/Organisation", headers=headers)


def test_each_app_connected_to_an_organisation_has_its_own_minute(client):
    """Xero counts per connection (app × organisation), not per organisation."""
    first = client.post("/_sandbox/token", json={"client_id": "invoicesync-demo"}).get_json()
    client.post("/_sandbox/clients", json={"client_id": "other-app", "client_secret": "s"})
    second = client.post(
        "/_sandbox/token", json={"client_id": "other-app", "tenant_id": first["tenant_id"]}
    ).get_json()

    def call(issued):
        return _organisation(client, issued, first["tenant_id"])

    assert [call(first).status_code for _ in range(60)] == [200] * 60
    assert call(first).status_code == 429
    assert call(second).status_code == 200
    assert call(second).headers["X-MinLimit-Remaining"] == "58"


def test_one_apps_organisations_share_its_app_wide_minute(app, client):
    state = app.extensions["sandbox_state"]

    one = client.post("/_sandbox/token", json={"tenant_name": "One Ltd"}).get_json()
    two = client.post("/_sandbox/token", json={"tenant_name": "Two Ltd"}).get_json()
    for _ in range(APP_MINUTE.limit - 1):
        state.limiter.hit("app:invoicesync-demo", [APP_MINUTE])

    def call(issued):
        return _organisation(client, issued, issued["tenant_id"])

    assert call(one).status_code == 200
    refused = call(two)
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"


def test_sixth_concurrent_call_gets_429_concurrent(app, xero_session):
    client, headers, issued = xero_session
    gate = app.extensions["sandbox_state"].concurrency
    for _ in range(5):
        gate.enter(connection_key("invoicesync-demo", issued["tenant_id"]))
    reply = client.get("/api.xro/2.0/Organisation", headers=headers)
    assert reply.status_code == 429 and reply.headers["X-Rate-Limit-Problem"] == "concurrent"


def test_webhook_signature_is_base64_hmac_sha256_of_the_raw_body():
    assert (
        signature("key", b"{}") == "p3dyTZQ+tI3Gm8qKSm1XoE2z+ex+HeTlgehgJlvfMDI="
    )  # openssl dgst -hmac


def test_contact_names_are_kept_verbatim_and_found_by_search_term_or_contact_number(xero_session):
    client, headers, _ = xero_session
    name = 'Dwayne "The Rock" Johnson \\ Sons'
    created = client.put(
        "/api.xro/2.0/Contacts",
        headers=headers,
        json={"Contacts": [{"Name": name, "ContactNumber": "4711"}]},
    ).get_json()["Contacts"][0]
    assert created["Name"] == name

    searched = client.get(
        "/api.xro/2.0/Contacts", headers=headers, query_string={"searchTerm": '"the rock"'}
    ).get_json()["Contacts"]
    by_number = client.get("/api.xro/2.0/Contacts/4711", headers=headers).get_json()
    quoted = client.get(
        "/api.xro/2.0/Contacts", headers=headers, query_string={"where": f'Name=="{name}"'}
    )

    assert [c["Name"] for c in searched] == [name]
    assert by_number["Contacts"][0]["ContactID"] == created["ContactID"]
    assert quoted.status_code == 400 and quoted.get_json()["ErrorNumber"] == 16


def test_an_organisation_with_history_holds_invoices_keap_ids_collide_with(xero_session):
    client, headers, issued = xero_session
    reply = client.put(f"/_sandbox/xero/organisations/{issued['tenant_id']}/invoice-history")
    numbers = {row["InvoiceNumber"] for row in reply.get_json()["invoice_history"]}
    assert {"1", "1001", "INV-0001"} <= numbers

    [held] = client.get(
        "/api.xro/2.0/Invoices", headers=headers, query_string={"InvoiceNumbers": "1001"}
    ).get_json()["Invoices"]
    clash = _create(xero_session, _invoice(_contact(xero_session), InvoiceNumber="1001"))

    assert (held["Status"], held["Reference"]) == ("AUTHORISED", "Order 1001")
    assert clash.get_json()["Invoices"][0]["ValidationErrors"] == [
        {"Message": "Invoice # must be unique."}
    ]
