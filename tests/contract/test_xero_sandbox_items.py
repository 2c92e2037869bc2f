"""The Xero stand-in's PUT/POST /Items, as xero_accounting.yaml describes createItems and
updateOrCreateItems: batch elements, a unique Code, per-element errors, and lines that use them."""

from __future__ import annotations

import pytest

from invoicesync_sandbox.xero.app import create_app


@pytest.fixture
def api():
    client = create_app().test_client()
    issued = client.post("/_sandbox/token", json={"tenant_name": "Items Ltd"}).get_json()
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "xero-tenant-id": issued["tenant_id"],
        "Accept": "application/json",
    }
    return client, headers


def _items(api):
    client, headers = api
    return {
        i["Code"]: i for i in client.get("/api.xro/2.0/Items", headers=headers).get_json()["Items"]
    }


def test_put_creates_items_that_the_list_then_holds(api):
    client, headers = api
    body = {
        "Items": [
            {
                "Code": "COURSE-1",
                "Name": "Online course",
                "Description": "Twelve lessons",
                "SalesDetails": {"UnitPrice": 199.5, "AccountCode": "200", "TaxType": "OUTPUT"},
            }
        ]
    }

    reply = client.put("/api.xro/2.0/Items?summarizeErrors=false", json=body, headers=headers)

    assert reply.status_code == 200, reply.get_data(as_text=True)
    [item] = reply.get_json()["Items"]
    assert item["ItemID"] and item["StatusAttributeString"] == "OK"
    assert item["IsSold"] is True and item["IsPurchased"] is True
    assert "COURSE-1" in _items(api)


def test_a_code_already_in_use_is_refused_per_element(api):
    client, headers = api
    client.put("/api.xro/2.0/Items", json={"Items": [{"Code": "DUP"}]}, headers=headers)

    reply = client.put(
        "/api.xro/2.0/Items?summarizeErrors=false",
        json={"Items": [{"Code": "DUP"}, {"Code": "FRESH"}]},
        headers=headers,
    )

    assert reply.status_code == 200
    duplicate, fresh = reply.get_json()["Items"]
    assert duplicate["HasValidationErrors"] is True
    assert duplicate["ValidationErrors"] == [
        {"Message": "Price List Item with Code ''DUP'' already exists"}
    ]
    assert fresh["StatusAttributeString"] == "OK"
    summarised = client.put(
        "/api.xro/2.0/Items", json={"Items": [{"Code": "DUP"}]}, headers=headers
    )
    assert summarised.status_code == 400


def test_post_updates_the_item_with_that_code_or_creates_one(api):
    client, headers = api
    client.put(
        "/api.xro/2.0/Items", json={"Items": [{"Code": "BOOK", "Name": "Book"}]}, headers=headers
    )
    before = _items(api)["BOOK"]

    reply = client.post(
        "/api.xro/2.0/Items",
        json={"Items": [{"Code": "BOOK", "Name": "Workbook"}, {"Code": "PEN", "Name": "Pen"}]},
        headers=headers,
    )

    assert reply.status_code == 200, reply.get_data(as_text=True)
    after = _items(api)
    assert after["BOOK"]["ItemID"] == before["ItemID"]
    assert after["BOOK"]["Name"] == "Workbook"
    assert after["PEN"]["Name"] == "Pen"


def test_an_item_without_a_code_or_with_an_unknown_account_is_refused(api):
    client, headers = api

    reply = client.put(
        "/api.xro/2.0/Items?summarizeErrors=false",
        json={"Items": [{"Code": "X", "SalesDetails": {"AccountCode": "999"}}]},
        headers=headers,
    )

    [item] = reply.get_json()["Items"]
    assert item["HasValidationErrors"] is True
    assert "Account code '999'" in item["ValidationErrors"][0]["Message"]
    assert "X" not in _items(api)
