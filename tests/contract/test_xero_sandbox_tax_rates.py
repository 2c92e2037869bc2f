"""The Xero stand-in's PUT /TaxRates (xero_accounting.yaml createTaxRates): a new rate gets the
next TAX00n type and is in the list from then on; a nameless, duplicate or component-less rate
is refused with the ValidationException body."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync_sandbox.xero.app import create_app


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def api(xero_session):
    client, headers, _ = xero_session
    return client, headers


def _rates(api) -> dict[str, dict]:
    client, headers = api
    reply = client.get("/api.xro/2.0/TaxRates", headers=headers).get_json()
    return {rate["TaxType"]: rate for rate in reply["TaxRates"]}


def test_a_new_rate_gets_the_next_user_tax_type_and_joins_the_list(api):
    client, headers = api
    before = _rates(api)
    body = {
        "TaxRates": [
            {
                "Name": "County Sales Tax",
                "TaxComponents": [
                    {"Name": "State", "Rate": 6.25},
                    {"Name": "County", "Rate": 2, "IsCompound": True},
                ],
            }
        ]
    }

    reply = client.put("/api.xro/2.0/TaxRates", json=body, headers=headers)

    assert reply.status_code == 200, reply.get_data(as_text=True)
    [created] = reply.get_json()["TaxRates"]
    assert created["TaxType"] not in before and created["TaxType"].startswith("TAX")
    listed = _rates(api)[created["TaxType"]]
    assert listed["Name"] == "County Sales Tax" and listed["Status"] == "ACTIVE"
    assert Decimal(str(listed["DisplayTaxRate"])) == Decimal("8.25")
    # 6.25% on the amount, then 2% on the amount plus that tax.
    assert Decimal(str(listed["EffectiveRate"])) == Decimal("8.375")


@pytest.mark.parametrize(
    "element, message",
    [
        ({"TaxComponents": [{"Name": "A", "Rate": 1}]}, "Name is required."),
        (
            {"Name": "tax on sales", "TaxComponents": [{"Name": "A", "Rate": 1}]},
            "A tax rate named 'tax on sales' already exists.",
        ),
        ({"Name": "Empty", "TaxComponents": []}, "A tax rate needs at least one tax component."),
    ],
    ids=["nameless", "duplicate-name", "no-components"],
)
def test_a_bad_rate_is_refused_and_not_listed(api, element, message):
    client, headers = api
    before = _rates(api)

    reply = client.put("/api.xro/2.0/TaxRates", json={"TaxRates": [element]}, headers=headers)

    assert reply.status_code == 400
    [refused] = reply.get_json()["Elements"]
    assert message in [error["Message"] for error in refused["ValidationErrors"]]
    assert _rates(api) == before
