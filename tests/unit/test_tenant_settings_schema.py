"""The tenant settings schema: JSON round trip, defaults, and errors that name the field."""

from __future__ import annotations

from datetime import date

import pytest
from marshmallow import ValidationError

from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import StartPointKind, TenantSettings, XeroInvoiceStatus
from invoicesync.tenant_settings_schema import settings_from_json, settings_to_json


def test_left_out_fields_take_the_models_defaults():
    assert settings_from_json({"destination": "qbo"}) == TenantSettings(destination=Destination.QBO)


def test_settings_survive_a_json_round_trip():
    loaded = settings_from_json(
        {
            "destination": "xero",
            "xero": {"invoice_status": "SUBMITTED", "discount_account_code": "410"},
            "sync": {"start_point": {"kind": "date", "on_date": "2025-03-01"}, "due_date_days": 7},
        }
    )

    assert settings_from_json(settings_to_json(loaded)) == loaded
    assert loaded.xero.invoice_status is XeroInvoiceStatus.SUBMITTED
    assert loaded.sync.start_point.kind is StartPointKind.DATE
    assert loaded.sync.start_point.on_date == date(2025, 3, 1)


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({}, ("destination",)),
        ({"destination": "xero", "xero": {"colour": "red"}}, ("xero", "colour")),
        ({"destination": "xero", "keap": {"currency": "usd"}}, ("keap", "currency")),
        ({"destination": "xero", "keap": {"timezone": "Mars/Olympus"}}, ("keap", "timezone")),
        ({"destination": "xero", "sync": {"due_date_days": "30"}}, ("sync", "due_date_days")),
        (
            {"destination": "xero", "sync": {"daily_summary_hour": 24}},
            ("sync", "daily_summary_hour"),
        ),
        (
            {"destination": "xero", "sync": {"start_point": {"kind": "invoice_id"}}},
            ("sync", "start_point", "invoice_id"),
        ),
        (
            {"destination": "xero", "sync": {"start_point": {"kind": "date"}}},
            ("sync", "start_point", "on_date"),
        ),
    ],
)
def test_an_invalid_setting_is_reported_under_its_own_name(document, path):
    with pytest.raises(ValidationError) as raised:
        settings_from_json(document)

    messages = raised.value.messages
    for name in path:
        messages = messages[name]
    assert messages


def test_the_notification_address_is_kept_and_must_be_an_email():
    document = {"destination": "xero", "sync": {"notification_email": "books@example.com"}}
    loaded = settings_from_json(document)
    assert loaded.sync.notification_email == "books@example.com"
    assert settings_to_json(loaded)["sync"]["notification_email"] == "books@example.com"
    assert settings_from_json({"destination": "xero"}).sync.notification_email == ""
    with pytest.raises(ValidationError) as rejected:
        settings_from_json({"destination": "xero", "sync": {"notification_email": "nope"}})
    assert "notification_email" in rejected.value.messages["sync"]


def test_the_daily_summary_hour_defaults_to_seven_and_round_trips():
    assert settings_from_json({"destination": "xero"}).sync.daily_summary_hour == 7
    loaded = settings_from_json({"destination": "xero", "sync": {"daily_summary_hour": 18}})
    assert settings_from_json(settings_to_json(loaded)).sync.daily_summary_hour == 18
