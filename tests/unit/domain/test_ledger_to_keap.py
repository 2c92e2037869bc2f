from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from invoicesync.domain.canonical import Destination
from invoicesync.domain.ledger_to_keap import (
    DestinationPayment,
    LedgerPaymentRef,
    cap_to_order_balance,
    keap_payment_from_ledger,
    keap_payment_request_body,
    keap_payment_time,
    ledger_payment_named_in,
)
from invoicesync.domain.sync_rules import REVERSE_SYNC_NOTE_PREFIX, is_reverse_sync_note
from invoicesync.domain.tenant_settings import KeapSettings

D = Decimal
SETTINGS = KeapSettings(manual_payment_type="Check")


def xero_payment(amount="50.00"):
    return DestinationPayment(
        destination=Destination.XERO,
        payment_id="9f3c-pay",
        invoice_id="inv-uuid",
        amount=D(amount),
        payment_date=date(2026, 5, 7),
        method="Bank transfer",
    )


def test_manual_payment_records_amount_date_and_configured_type():
    manual = keap_payment_from_ledger(xero_payment("50.005"), SETTINGS)
    assert manual.payment_amount == D("50.01")
    assert manual.payment_date == date(2026, 5, 7)
    assert manual.payment_method_type == "Check"
    assert manual.apply_to_commissions is False


def test_note_starts_with_the_reverse_sync_marker_and_names_the_ledger_payment():
    manual = keap_payment_from_ledger(xero_payment(), SETTINGS)
    assert manual.notes.startswith(f"{REVERSE_SYNC_NOTE_PREFIX} xero payment 9f3c-pay")
    assert is_reverse_sync_note(manual.notes)


def test_qbo_payments_name_qbo_as_the_source():
    qbo = DestinationPayment(Destination.QBO, "201", "130", D("10.00"), date(2026, 5, 7))
    manual = keap_payment_from_ledger(qbo, SETTINGS)
    assert (manual.external_source, manual.external_source_value) == ("QBO", "201")
    assert manual.notes == f"{REVERSE_SYNC_NOTE_PREFIX} qbo payment 201"


def test_payment_within_the_balance_is_recorded_whole():
    capped = cap_to_order_balance(keap_payment_from_ledger(xero_payment(), SETTINGS), D("80.00"))
    assert capped.payment.payment_amount == D("50.00")
    assert capped.remainder == D("0.00")
    assert capped.exception_note == ""


def test_payment_above_the_balance_is_capped_and_the_rest_reported():
    capped = cap_to_order_balance(keap_payment_from_ledger(xero_payment(), SETTINGS), D("30.00"))
    assert capped.payment.payment_amount == D("30.00")
    assert capped.remainder == D("20.00")
    assert "20.00 was not recorded" in capped.exception_note
    assert "9f3c-pay" in capped.exception_note


def test_nothing_is_recorded_on_a_settled_order():
    capped = cap_to_order_balance(keap_payment_from_ledger(xero_payment(), SETTINGS), D("0.00"))
    assert capped.payment is None
    assert capped.remainder == D("50.00")


def test_request_body_has_keaps_field_names():
    body = keap_payment_request_body(keap_payment_from_ledger(xero_payment(), SETTINGS))
    assert body == {
        "payment_amount": D("50.00"),
        "apply_to_commissions": False,
        "payment_method_type": "Check",
        "payment_time": "2026-05-07T12:00:00Z",
        "notes": f"{REVERSE_SYNC_NOTE_PREFIX} xero payment 9f3c-pay (Bank transfer)",
        "external_source": "XERO",
        "external_source_value": "9f3c-pay",
    }


KEAP_SPEC = Path(__file__).parents[3].parent / "shared" / "specs" / "keap" / "keap_rest_v2.yml"


@pytest.mark.skipif(not KEAP_SPEC.exists(), reason="Keap spec not available")
def test_request_body_uses_only_keaps_create_payment_fields():
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with KEAP_SPEC.open() as spec:
        schema = yaml.load(spec, Loader=loader)["components"]["schemas"]["RestCreatePaymentRequest"]
    body = keap_payment_request_body(keap_payment_from_ledger(xero_payment(), SETTINGS))
    assert set(body) <= set(schema["properties"])
    assert set(schema["required"]) <= set(body)


@pytest.mark.parametrize(
    "timezone",
    ["UTC", "America/Los_Angeles", "Pacific/Honolulu", "Pacific/Auckland", "Pacific/Kiritimati"],
)
def test_the_keap_payment_time_falls_on_the_ledger_date_in_the_apps_time_zone(timezone):
    for day in (date(2026, 3, 8), date(2026, 3, 29), date(2026, 11, 1), date(2026, 12, 31)):
        instant = keap_payment_time(day, timezone)
        assert instant.tzinfo is UTC
        assert instant.astimezone(ZoneInfo(timezone)).date() == day


def test_west_of_utc_the_payment_is_not_sent_as_midnight_utc_the_day_before():
    assert keap_payment_time(date(2026, 3, 10), "America/Los_Angeles") == datetime(
        2026, 3, 10, 19, 0, tzinfo=UTC
    )


def test_the_manual_payment_carries_the_instant_for_the_tenants_zone():
    pacific = KeapSettings(manual_payment_type="Check", timezone="America/New_York")
    manual = keap_payment_from_ledger(xero_payment(), pacific)
    assert manual.payment_time == datetime(2026, 5, 7, 16, 0, tzinfo=UTC)
    assert keap_payment_request_body(manual)["payment_time"] == "2026-05-07T16:00:00Z"


@pytest.mark.parametrize(
    ("payment", "method"),
    [
        (xero_payment(), "Bank transfer"),
        (DestinationPayment(Destination.QBO, "57", "130", D("5"), date(2026, 5, 7)), ""),
    ],
)
def test_the_note_reverse_sync_writes_names_its_ledger_payment_back(payment, method):
    note = keap_payment_from_ledger(replace(payment, method=method), SETTINGS).notes
    assert ledger_payment_named_in(note) == LedgerPaymentRef(
        payment.destination, payment.payment_id
    )


@pytest.mark.parametrize(
    "note",
    [None, "", "xero payment 9f3c-pay", "Paid by check", f"{REVERSE_SYNC_NOTE_PREFIX} hello"],
)
def test_a_note_without_the_marker_names_no_ledger_payment(note):
    assert ledger_payment_named_in(note) is None
