"""The Xero writer against the Xero sandbox: totals, settings, payments, no duplicates."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination, LineKind
from invoicesync.domain.tenant_settings import XeroInvoiceStatus, XeroSettings
from invoicesync.events import EventType, SyncAction, envelope_for, payload_of
from invoicesync.stores.id_map import IdMap
from invoicesync.writing.flow import CanonicalEventWriter
from invoicesync.writing.held_payments import HeldPayments
from tests.unit.domain.canonical_builders import charge, contact, invoice, payment, product
from xero_writer.xero_contacts import XeroContacts
from xero_writer.xero_ledger import XeroLedger

pytestmark = pytest.mark.infra


def _invoice_event(tenant_id, canonical, keap_id, *, content_hash="h1", name="Jane Smith"):
    canonical = replace(
        canonical,
        tenant_id=tenant_id,
        keap_invoice_id=keap_id,
        invoice_number=f"K-{keap_id}",
        contact=contact(name=name, keap_id=f"c{keap_id}", email=f"{keap_id}@example.com"),
        content_hash=content_hash,
    )
    return envelope_for(EventType.INVOICE_CANONICALISED, tenant_id, canonical)


def _payment_event(tenant_id, keap_invoice_id, amount, payment_id):
    canonical = replace(
        payment(amount, payment_id=payment_id),
        tenant_id=tenant_id,
        keap_invoice_id=keap_invoice_id,
        content_hash=f"p{payment_id}",
    )
    return envelope_for(EventType.PAYMENT_CANONICALISED, tenant_id, canonical)


def _results(outgoing):
    return [payload_of(item.envelope) for item in outgoing]


def _by_number(stack, tenant_id):
    return {row["InvoiceNumber"]: row for row in stack.invoices(tenant_id)}


CORPUS = {
    # Xero taxes each line and rounds: three 15% lines give 11.44, Keap taxed the sum: 11.45.
    "rounding": invoice(
        product("25.43", taxable=True),
        product("25.43", taxable=True),
        product("25.43", taxable=True),
        charge(LineKind.TAX, "11.45"),
    ),
    "overrides": invoice(
        product("100.00"),
        charge(LineKind.SHIPPING, "9.50"),
        charge(LineKind.DISCOUNT, "-10.00"),
        charge(LineKind.FINANCE_CHARGE, "2.25"),
    ),
    "sku": invoice(product("9.50", sku="SHIP", description="Express shipping box")),
    "four-decimals": invoice(product("0.3333", quantity="3", line_amount="1.00")),
    "zero": invoice(product("0.00")),
}


def test_a_corpus_of_invoices_lands_in_xero_with_keaps_totals_and_settings(xero_stack):
    xero = XeroSettings(
        shipping_account_code="260",
        discount_account_code="270",
        finance_charge_account_code="",
        zero_tax_type="ZERORATEDOUTPUT",
        sku_matching=True,
        sku_sets_item_code=True,
    )
    tenant_id = xero_stack.connect_tenant("corpus", xero)
    events = [_invoice_event(tenant_id, inv, key) for key, inv in CORPUS.items()]

    results = _results(xero_stack.writer().handle(events))

    by_keap = {result.keap_id: result for result in results}
    assert by_keap["zero"].action is SyncAction.SKIPPED
    assert {by_keap[k].action for k in CORPUS if k != "zero"} == {SyncAction.CREATED}
    in_xero = _by_number(xero_stack, tenant_id)
    assert set(in_xero) == {f"K-{k}" for k in CORPUS if k != "zero"}
    for key, canonical in CORPUS.items():
        if key != "zero":
            row = in_xero[f"K-{key}"]
            assert Decimal(str(row["Total"])) == canonical.totals.total, key
            assert Decimal(str(row["AmountDue"])) == canonical.totals.due, key
            assert Decimal(str(row["TotalTax"])) == canonical.totals.tax, key
            assert row["Status"] == "AUTHORISED"
    assert "rounds tax per line" in by_keap["rounding"].reason
    codes = {
        line["Description"]: line["AccountCode"] for line in in_xero["K-overrides"]["LineItems"]
    }
    assert codes == {"Widget": "200", "shipping": "260", "discount": "270", "finance charge": "200"}
    [sku_line] = in_xero["K-sku"]["LineItems"]
    assert (sku_line["AccountCode"], sku_line["ItemCode"]) == ("260", "SHIP")
    assert sku_line["Description"] == "Express shipping box"
    assert sku_line["TaxType"] == "ZERORATEDOUTPUT"


def test_the_configured_status_and_keaps_dates_are_used(xero_stack):
    tenant_id = xero_stack.connect_tenant(
        "draft", XeroSettings(invoice_status=XeroInvoiceStatus.DRAFT)
    )
    xero_stack.writer().handle([_invoice_event(tenant_id, CORPUS["overrides"], "d1")])

    [row] = xero_stack.invoices(tenant_id)
    assert row["Status"] == "DRAFT"
    assert (row["DateString"][:10], row["DueDateString"][:10]) == ("2026-05-01", "2026-05-31")


def test_the_same_event_three_times_creates_one_invoice(xero_stack):
    tenant_id = xero_stack.connect_tenant("thrice")
    event = _invoice_event(tenant_id, CORPUS["overrides"], "3x")
    writer = xero_stack.writer()

    first = _results(writer.handle([event, event]))
    again = _results(writer.handle([event]))

    assert [r.action for r in first + again] == [SyncAction.CREATED] + [SyncAction.SKIPPED] * 2
    assert len(xero_stack.invoices(tenant_id)) == 1


def test_a_lost_id_map_finds_invoices_by_number_instead_of_creating_them_again(xero_stack):
    tenant_id = xero_stack.connect_tenant("flushed")
    events = [_invoice_event(tenant_id, CORPUS["overrides"], f"f{n}") for n in range(5)]
    xero_stack.writer().handle(events[:3])
    for key in xero_stack.redis.scan_iter(f"invoicesync:tenant:{tenant_id}:idmap:*"):
        xero_stack.redis.delete(key)
    for key in xero_stack.redis.scan_iter(f"invoicesync:tenant:{tenant_id}:xero:*"):
        xero_stack.redis.delete(key)

    results = _results(xero_stack.writer().handle(events))

    assert [r.action for r in results].count(SyncAction.CREATED) == 2
    assert sorted(_by_number(xero_stack, tenant_id)) == [f"K-f{n}" for n in range(5)]
    assert (
        len({c["ContactID"] for c in xero_stack.client._get(tenant_id, "/Contacts")["Contacts"]})
        == 5
    )


def test_an_edit_updates_an_approved_invoice_until_a_payment_is_applied(xero_stack):
    """Xero edits an AUTHORISED invoice while nothing is paid or credited on it (reference
    xero.md §2, "Editing after payment"); only then does a Keap edit become an exception."""
    draft = xero_stack.connect_tenant(
        "edit-draft", XeroSettings(invoice_status=XeroInvoiceStatus.DRAFT)
    )
    approved = xero_stack.connect_tenant("edit-approved")
    writer = xero_stack.writer()
    for tenant_id in (draft, approved):
        writer.handle([_invoice_event(tenant_id, CORPUS["overrides"], "e1")])

    outcomes = {
        tenant_id: _results(
            writer.handle(
                [_invoice_event(tenant_id, invoice(product("120.00")), "e1", content_hash="h2")]
            )
        )[0]
        for tenant_id in (draft, approved)
    }
    writer.handle([_payment_event(approved, "e1", "20.00", "pay-e1")])
    after_payment = _results(
        writer.handle(
            [_invoice_event(approved, invoice(product("130.00")), "e1", content_hash="h3")]
        )
    )

    assert outcomes[draft].action is SyncAction.UPDATED
    assert Decimal(str(xero_stack.invoices(draft)[0]["Total"])) == Decimal("120.00")
    assert outcomes[approved].action is SyncAction.UPDATED, outcomes[approved].reason
    [row] = xero_stack.invoices(approved)
    assert (row["Status"], Decimal(str(row["Total"]))) == ("AUTHORISED", Decimal("120.00"))
    assert Decimal(str(row["AmountPaid"])) == Decimal("20.00")
    [refused] = after_payment
    assert refused.action is SyncAction.FAILED
    assert refused.reason.startswith("exception:") and "payment" in refused.reason


def test_payments_apply_skip_overpayments_and_wait_for_approval(xero_stack):
    approved = xero_stack.connect_tenant("pay")
    draft = xero_stack.connect_tenant(
        "pay-draft", XeroSettings(invoice_status=XeroInvoiceStatus.DRAFT)
    )
    canonical = invoice(product("100.00"))
    writer = xero_stack.writer()

    paid = _results(
        writer.handle(
            [
                _invoice_event(approved, canonical, "p1"),
                _payment_event(approved, "p1", "40.00", "pay-1"),
                _payment_event(approved, "p1", "70.00", "pay-2"),
                _payment_event(approved, "p1", "60.00", "pay-3"),
                _payment_event(approved, "p1", "60.00", "pay-3"),
            ]
        )
    )
    held = _results(
        writer.handle(
            [_invoice_event(draft, canonical, "p2"), _payment_event(draft, "p2", "100.00", "pay-4")]
        )
    )

    assert [r.action for r in paid[1:]] == [
        SyncAction.CREATED,
        SyncAction.SKIPPED,
        SyncAction.CREATED,
        SyncAction.SKIPPED,
    ]
    assert "would overpay" in paid[2].reason
    [row] = xero_stack.invoices(approved)
    assert (row["Status"], Decimal(str(row["AmountDue"]))) == ("PAID", Decimal("0.00"))
    assert held[1].action is SyncAction.HELD
    assert "DRAFT" in held[1].reason
    [row] = xero_stack.invoices(draft)
    assert Decimal(str(row["AmountPaid"])) == Decimal("0.00")


def test_a_held_payment_is_applied_by_the_sweep_once_the_bookkeeper_approves_the_invoice(
    xero_stack,
):
    tenant = xero_stack.connect_tenant(
        "sweep-draft", XeroSettings(invoice_status=XeroInvoiceStatus.DRAFT)
    )
    writer = CanonicalEventWriter(
        Destination.XERO,
        XeroLedger(xero_stack.client, XeroContacts(xero_stack.client, xero_stack.redis)),
        IdMap(xero_stack.redis, xero_stack.publisher, xero_stack.settings),
        xero_stack.tenants,
        HeldPayments(xero_stack.redis),
        held_recheck_after=timedelta(0),
    )
    writer.handle(
        [
            _invoice_event(tenant, invoice(product("80.00")), "s1"),
            _payment_event(tenant, "s1", "80.00", "pay-s1"),
        ]
    )
    assert writer.sweep_held_payments(lambda tenant_id: True) == [], "still a draft: still held"
    [draft] = xero_stack.invoices(tenant)
    approved = xero_stack.client.update_invoice(
        tenant, draft["InvoiceID"], {"Status": "AUTHORISED"}, "approve-s1"
    )
    assert approved.ok, approved.messages

    not_mine = writer.sweep_held_payments(lambda tenant_id: False)
    swept = _results(writer.sweep_held_payments(lambda tenant_id: tenant_id == tenant))

    assert not_mine == []
    assert [(r.object_type, r.action) for r in swept] == [("payment", SyncAction.CREATED)]
    [row] = xero_stack.invoices(tenant)
    assert (row["Status"], Decimal(str(row["AmountDue"]))) == ("PAID", Decimal("0.00"))
    assert HeldPayments(xero_stack.redis).tenants("xero").count(tenant) == 0


def test_a_contact_name_with_quotes_is_written_to_xero_unchanged_and_found_again(xero_stack):
    tenant_id = xero_stack.connect_tenant("quoted-names")
    name = 'Dwayne "The Rock" Johnson'
    by_hand = 'Ann "Nan" Lee'
    xero_stack.client.create_contacts(tenant_id, [{"Name": by_hand}], "by-hand-ann")
    events = [
        _invoice_event(tenant_id, CORPUS["overrides"], "q1", name=name),
        _invoice_event(tenant_id, CORPUS["overrides"], "q2", name=by_hand),
    ]
    xero_stack.writer().handle(events)
    for lost in ("idmap", "xero"):  # the id map and the contact cache: found again in Xero
        for key in xero_stack.redis.scan_iter(f"invoicesync:tenant:{tenant_id}:{lost}:*"):
            xero_stack.redis.delete(key)

    replayed = _results(xero_stack.writer().handle(events))

    assert {r.action for r in replayed} <= {SyncAction.CREATED, SyncAction.SKIPPED}
    contacts = xero_stack.client._get(tenant_id, "/Contacts")["Contacts"]
    assert sorted(c["Name"] for c in contacts) == [by_hand, name]
    on_invoices = {
        row["InvoiceNumber"]: row["Contact"]["Name"] for row in xero_stack.invoices(tenant_id)
    }
    assert on_invoices == {"K-q1": name, "K-q2": by_hand}
