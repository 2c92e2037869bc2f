"""The pure parts of the smoke checks: reading granted scopes and the Invoice # comparison."""

from __future__ import annotations

import base64
import json

from admin.smoke.keap_checks import invoice_number_is_invoice_id
from admin.smoke.results import Outcome
from admin.smoke.xero_checks import granted_scopes
from invoicesync.domain.keap_order import KeapContact, KeapOrder


def _jwt(claims: dict) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"e30.{payload}.signature"


def _order(order_id: str, invoice_id: str, invoice_number: str | None) -> KeapOrder:
    return KeapOrder(
        id=order_id,
        contact=KeapContact(id="1"),
        items=(),
        invoice_id=invoice_id,
        invoice_number=invoice_number,
    )


def test_scopes_are_read_from_a_jwt_claim_as_a_list_or_a_string():
    assert granted_scopes(_jwt({"scope": ["a", "b"]})) == ("a", "b")
    assert granted_scopes(_jwt({"scope": "a b"})) == ("a", "b")


def test_an_opaque_token_has_no_readable_scopes():
    assert granted_scopes("opaque-token") is None
    assert granted_scopes("a.!!!.c") is None
    assert granted_scopes(_jwt({"sub": "x"})) is None


def test_invoice_number_different_from_the_invoice_id_fails():
    result = invoice_number_is_invoice_id([_order("1", "5001", "1001")])
    assert result.outcome is Outcome.FAIL
    assert "invoice_number 1001, invoice_id 5001" in result.seen


def test_invoice_number_equal_to_the_invoice_id_passes():
    assert invoice_number_is_invoice_id([_order("1", "5001", "5001")]).outcome is Outcome.PASS


def test_no_invoice_number_skips_with_what_to_compare_by_eye():
    result = invoice_number_is_invoice_id([_order("1", "5001", None)])
    assert result.outcome is Outcome.SKIP
    assert "invoice_id 5001" in result.seen
