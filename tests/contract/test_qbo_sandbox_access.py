"""The QBO stand-in's OAuth server, token lifetimes, per-realm rate limits and `/batch`."""

import base64
from urllib.parse import parse_qs, urlparse

import pytest

from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.qbo.app import create_app

REDIRECT = "http://localhost:8000/oauth/qbo/callback"
BASIC = "Basic " + base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
SCOPE = "com.intuit.quickbooks.accounting"


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def state(app):
    return app.extensions["sandbox_state"]


def authorize(client, **extra) -> dict:
    params = {
        "client_id": DEMO_CLIENT_ID,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": REDIRECT,
        "state": "csrf-1",
        **extra,
    }
    response = client.get("/connect/oauth2", query_string=params)
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["Location"]).query).items()}


def token_call(client, form: dict, auth: str = BASIC):
    return client.post(
        "/oauth2/v1/tokens/bearer",
        data=form,
        headers={"Authorization": auth, "Accept": "application/json"},
    )


def exchange(client) -> dict:
    callback = authorize(client)
    response = token_call(
        client,
        {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT},
    )
    assert response.status_code == 200
    return {**response.get_json(), "realmId": callback["realmId"]}


def api_get(client, realm: str, token: str, path: str = "preferences"):
    return client.get(
        f"/v3/company/{realm}/{path}?minorversion=75",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_consent_redirects_with_code_state_and_realm_id(client):
    callback = authorize(client)
    assert callback["state"] == "csrf-1"
    assert callback["code"]
    assert callback["realmId"].isdigit()


def test_consent_without_the_accounting_scope_redirects_with_an_error(client):
    assert authorize(client, scope="openid")["error"] == "invalid_scope"


def test_code_exchange_returns_intuit_token_fields(client):
    tokens = exchange(client)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600
    assert 8_700_000 < tokens["x_refresh_token_expires_in"] <= 8_726_400
    assert api_get(client, tokens["realmId"], tokens["access_token"]).status_code == 200


def test_a_code_can_be_exchanged_only_once(client):
    callback = authorize(client)
    form = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT}
    assert token_call(client, form).status_code == 200
    second = token_call(client, form)
    assert (second.status_code, second.get_json()) == (400, {"error": "invalid_grant"})


def test_token_endpoint_needs_basic_client_auth(client):
    bad = "Basic " + base64.b64encode(b"invoicesync-demo:wrong").decode()
    response = token_call(client, {"grant_type": "refresh_token", "refresh_token": "x"}, bad)
    assert (response.status_code, response.get_json()) == (401, {"error": "invalid_client"})


def test_expired_access_token_gets_the_lower_case_401_fault(client, state):
    tokens = exchange(client)
    state.clock.advance(3601)
    response = api_get(client, tokens["realmId"], tokens["access_token"])
    assert response.status_code == 401
    error = response.get_json()["fault"]["error"][0]
    assert error["code"] == "3200"
    assert "AuthenticationFailed" in error["message"]
    assert response.get_json()["fault"]["type"] == "AUTHENTICATION"


def test_refresh_rotates_and_the_new_access_token_works(client, state):
    tokens = exchange(client)
    state.clock.advance(3601)
    refreshed = token_call(
        client, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    ).get_json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert api_get(client, tokens["realmId"], refreshed["access_token"]).status_code == 200


def test_superseded_refresh_token_still_works_within_a_day_then_is_invalid_grant(client, state):
    tokens = exchange(client)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    first = token_call(client, form).get_json()
    state.clock.advance(3600)
    assert token_call(client, form).get_json()["refresh_token"] == first["refresh_token"]
    state.clock.advance(24 * 3600)
    again = token_call(client, form)
    assert (again.status_code, again.get_json()) == (400, {"error": "invalid_grant"})


def test_refresh_token_expires_after_about_101_days(client, state):
    tokens = exchange(client)
    state.clock.advance(8_726_401)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert token_call(client, form).get_json() == {"error": "invalid_grant"}


def test_revoking_the_refresh_token_disconnects(client):
    tokens = exchange(client)
    response = client.post(
        "/v2/oauth2/tokens/revoke",
        json={"token": tokens["refresh_token"]},
        headers={"Authorization": BASIC},
    )
    assert response.status_code == 200
    assert api_get(client, tokens["realmId"], tokens["access_token"]).status_code == 401


def test_a_company_that_revoked_the_app_answers_401_even_after_a_refresh(client):
    tokens = exchange(client)
    client.put(f"/_sandbox/qbo/companies/{tokens['realmId']}", json={"app_revoked": True})
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = token_call(client, form)

    assert refreshed.status_code == 200
    answer = api_get(client, tokens["realmId"], refreshed.get_json()["access_token"])
    assert answer.status_code == 401
    assert answer.get_json()["fault"]["type"] == "AUTHENTICATION"


def test_token_of_one_realm_is_refused_on_another(client):
    one = client.post("/_sandbox/token", json={"country": "US"}).get_json()
    other = client.post("/_sandbox/token", json={"country": "US"}).get_json()
    assert api_get(client, other["realmId"], one["access_token"]).status_code == 401


@pytest.fixture
def realm(client):
    body = client.post("/_sandbox/token", json={"company_name": "Acme"}).get_json()
    return body["realmId"], body["access_token"]


def assert_throttled(response):
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    assert '<Error code="3001">' in text
    assert "message=ThrottleExceeded; errorCode=003001; statusCode=429" in text


def test_501st_request_in_a_minute_is_throttled_then_allowed_after_the_window(client, state, realm):
    for _ in range(500):
        assert api_get(client, *realm).status_code == 200
        state.clock.advance(0.11)  # under 10 a second, so only the minute counts
    assert_throttled(api_get(client, *realm))
    state.clock.advance(61)
    assert api_get(client, *realm).status_code == 200


def test_limits_are_per_realm(client, realm):
    other = client.post("/_sandbox/token", json={}).get_json()
    for _ in range(500):
        api_get(client, *realm)
    assert api_get(client, other["realmId"], other["access_token"]).status_code == 200


def test_eleventh_concurrent_request_is_throttled(client, state, realm):
    for _ in range(10):
        assert state.concurrency.enter(realm[0])
    assert_throttled(api_get(client, *realm))
    state.concurrency.leave(realm[0])
    assert api_get(client, *realm).status_code == 200


def test_limits_can_be_switched_off_from_the_control_surface(client, state, realm):
    client.put("/_sandbox/limits", json={"enabled": False})
    for _ in range(10):
        state.concurrency.enter(realm[0])
    assert api_get(client, *realm).status_code == 200


def batch(client, realm, items, **params):
    realm_id, token = realm
    params.setdefault("minorversion", "75")
    return client.post(
        f"/v3/company/{realm_id}/batch",
        json={"BatchItemRequest": items},
        query_string=params,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_eleventh_request_in_a_second_is_throttled_then_allowed_a_second_later(
    client, state, realm
):
    for _ in range(10):
        assert api_get(client, *realm).status_code == 200
    assert_throttled(api_get(client, *realm))
    state.clock.advance(1)
    assert api_get(client, *realm).status_code == 200


def test_41st_batch_in_a_minute_is_throttled(client, state, realm):
    item = [{"bId": "q1", "Query": "select * from Item maxresults 1"}]
    for _ in range(40):
        assert batch(client, realm, item).status_code == 200
        state.clock.advance(0.11)
    assert_throttled(batch(client, realm, item))
    assert api_get(client, *realm).status_code == 200


def test_batch_answers_each_item_with_its_entity_fault_or_query(client, realm):
    items = [
        {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Smith"}},
        {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "smith"}},
        {"bId": "q1", "Query": "select * from Item where Name = 'Shipping'"},
        {"bId": "u1", "operation": "update", "Invoice": {"Id": "999", "SyncToken": "0"}},
    ]
    response = batch(client, realm, items)
    assert response.status_code == 200
    answers = {a["bId"]: a for a in response.get_json()["BatchItemResponse"]}
    assert answers["c1"]["Customer"]["DisplayName"] == "Smith"
    assert answers["c2"]["Fault"]["Error"][0]["code"] == "6240"
    assert answers["c2"]["Fault"]["type"] == "ValidationFault"
    assert answers["q1"]["QueryResponse"]["Item"][0]["Name"] == "Shipping"
    assert answers["u1"]["Fault"]["Error"][0]["code"] == "610"


def test_batch_items_cannot_see_what_other_items_created(client, realm):
    created = batch(
        client, realm, [{"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Jo"}}]
    )
    customer_id = created.get_json()["BatchItemResponse"][0]["Customer"]["Id"]
    items = [
        {"bId": "c2", "operation": "create", "Customer": {"DisplayName": "Kim"}},
        {
            "bId": "p1",
            "operation": "create",
            "Payment": {"CustomerRef": {"value": str(int(customer_id) + 1)}, "TotalAmt": 5},
        },
        {
            "bId": "p2",
            "operation": "create",
            "Payment": {"CustomerRef": {"value": customer_id}, "TotalAmt": 5},
        },
    ]
    answers = {a["bId"]: a for a in batch(client, realm, items).get_json()["BatchItemResponse"]}
    assert answers["c2"]["Customer"]["Id"] == str(int(customer_id) + 1)
    assert answers["p1"]["Fault"]["Error"][0]["code"] == "610"
    assert "Payment" in answers["p2"]


def test_batch_with_more_than_30_items_is_refused(client, realm):
    items = [{"bId": f"q{n}", "Query": "select * from Item"} for n in range(31)]
    response = batch(client, realm, items)
    assert response.status_code == 400
    assert "30" in response.get_json()["Fault"]["Error"][0]["Detail"]


def test_batch_bid_over_10_characters_is_refused_when_a_requestid_is_sent(client, realm):
    items = [{"bId": "b" * 11, "Query": "select * from Item"}]
    assert batch(client, realm, items).status_code == 200
    assert batch(client, realm, items, requestid="r-1").status_code == 400


def test_batch_requestid_replays_the_first_answer(client, realm):
    items = [{"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Once"}}]
    first = batch(client, realm, items, requestid="batch-1")
    second = batch(client, realm, items, requestid="batch-1")
    assert second.get_data() == first.get_data()
    assert "Customer" in second.get_json()["BatchItemResponse"][0]


def test_batch_requestid_is_at_most_36_characters(client, realm):
    items = [{"bId": "q1", "Query": "select * from Item"}]
    assert batch(client, realm, items, requestid="r" * 37).status_code == 400
