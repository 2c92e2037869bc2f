"""A preview request names one Keap invoice or how many of the next ones, never both."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from admin.api.schemas import PreviewRequestSchema
from invoicesync.domain.canonical import Destination


def test_one_invoice_or_the_next_few():
    assert PreviewRequestSchema().load({"invoice_id": "42"})["invoice_id"] == "42"
    assert PreviewRequestSchema().load({"next": 5})["next"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "invoice_id"),
        ({"invoice_id": "42", "next": 2}, "invoice_id"),
        ({"invoice_id": "INV-42"}, "invoice_id"),
        ({"next": 0}, "next"),
        ({"next": 51}, "next"),
        ({"invoice_id": "42", "settings": {"destination": "sage"}}, "settings"),
        ({"invoice_id": "42", "extra": 1}, "extra"),
    ],
)
def test_a_bad_request_names_its_field(body, field):
    with pytest.raises(ValidationError) as raised:
        PreviewRequestSchema().load(body)
    assert field in raised.value.messages


def test_unsaved_settings_are_tried_as_given():
    loaded = PreviewRequestSchema().load(
        {"invoice_id": "42", "settings": {"destination": "xero", "xero": {"sku_matching": True}}}
    )
    assert loaded["settings"].destination is Destination.XERO
    assert loaded["settings"].xero.sku_matching is True
