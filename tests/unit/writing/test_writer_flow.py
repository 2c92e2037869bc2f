"""The writer flow against an in-memory ledger and stores: every case in milliseconds, no
servers. The real adapters keep their integration tests against the sandboxes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from invoicesync.domain.attention import needs_attention
from invoicesync.domain.canonical import (
    CanonicalInvoice,
    CanonicalPayment,
    Destination,
    LineKind,
    PaymentKind,
)
from invoicesync.domain.tenant_settings import (
    SyncSettings,
    TenantSettings,
    XeroInvoiceStatus,
    XeroSettings,
)
from invoicesync.errors import Disconnected
from invoicesync.events import (
    EventType,
    LedgerInvoiceVoid,
    SyncAction,
    SyncResult,
    envelope_for,
    payload_of,
)
from invoicesync.stores.id_map import TO_REISSUE
from invoicesync.writing.flow import CanonicalEventWriter
from tests.unit.domain.canonical_builders import charge, invoice, payment, product
from tests.unit.writing.in_memory_ledger import InMemoryLedger
from tests.unit.writing.in_memory_stores import (
    InMemoryHeldPayments,
    InMemoryIdMap,
    TenantSettingsByTenant,
)

TENANT = "tenant-1"
START = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


@dataclass
class Flow:
    ledger: InMemoryLedger
    settings: TenantSettings
    id_map: InMemoryIdMap = field(default_factory=InMemoryIdMap)
    held: InMemoryHeldPayments = field(default_factory=InMemoryHeldPayments)
    now: datetime = START

    @property
    def writer(self) -> CanonicalEventWriter:
        return CanonicalEventWriter(
            self.ledger.destination,
            self.ledger,
            self.id_map,
            TenantSettingsByTenant({TENANT: self.settings}),
            self.held,
            lambda: self.now,
        )

    def send(self, *records: CanonicalInvoice | CanonicalPayment) -> list[SyncResult]:
        envelopes = [
            envelope_for(
                EventType.INVOICE_CANONICALISED
                if isinstance(record, CanonicalInvoice)
                else EventType.PAYMENT_CANONICALISED,
                TENANT,
                record,
            )
            for record in records
        ]
        return [payload_of(out.envelope) for out in self.writer.handle(envelopes)]

    def ask_to_void(self, ledger_id: str, keap_order_id: str = "987") -> list[SyncResult]:
        request = LedgerInvoiceVoid(
            self.ledger.destination.value, ledger_id, keap_order_id, keap_invoice_id="1042"
        )
        envelope = envelope_for(EventType.LEDGER_INVOICE_VOID_REQUESTED, TENANT, request)
        return [payload_of(out.envelope) for out in self.writer.handle([envelope])]

    def recheck_later(self) -> list[SyncResult]:
        self.now += timedelta(minutes=10)
        outgoing = self.writer.sweep_held_payments(lambda tenant_id: tenant_id == TENANT)
        return [payload_of(out.envelope) for out in outgoing]

    def the_invoice(self):
        [stored] = self.ledger.invoices(TENANT)
        return stored


def flow_for(
    destination: Destination = Destination.XERO,
    *,
    status: XeroInvoiceStatus = XeroInvoiceStatus.AUTHORISED,
    **sync,
) -> Flow:
    settings = TenantSettings(
        destination,
        xero=XeroSettings(invoice_status=status),
        sync=SyncSettings(processing_enabled=True, **sync),
    )
    return Flow(InMemoryLedger(destination), settings)


@pytest.fixture(params=[Destination.XERO, Destination.QBO])
def destination(request) -> Destination:
    return request.param


def outcomes(results: list[SyncResult]) -> list[tuple[str, str, SyncAction]]:
    return [(r.object_type, r.keap_id, r.action) for r in results]


HUNDRED = invoice(product("100.00"))


def test_a_new_invoice_is_created_and_mapped(destination):
    flow = flow_for(destination)

    [result] = flow.send(HUNDRED)

    assert (result.action, result.destination_id) == (SyncAction.CREATED, "inv-1")
    assert (flow.the_invoice().number, flow.the_invoice().total) == ("1042", Decimal("100.00"))
    assert flow.id_map.get(TENANT, destination.value, "invoice", "1042").destination_id == "inv-1"


def test_a_replayed_invoice_is_skipped_as_already_synced(destination):
    flow = flow_for(destination)
    flow.send(HUNDRED)

    [result] = flow.send(HUNDRED)

    assert (result.action, result.reason) == (SyncAction.SKIPPED, "already synced")
    assert result.reason_code == "already_written"  # routine: never emailed
    assert not needs_attention(result.action, result.reason_code, result.reason)
    assert len(flow.ledger.invoices(TENANT)) == 1


def test_a_zero_total_invoice_is_skipped_with_the_domains_reason():
    flow = flow_for()

    [result] = flow.send(invoice(product("10.00"), charge(LineKind.DISCOUNT, "-10.00")))

    assert (result.action, result.reason) == (
        SyncAction.SKIPPED,
        "zero_total: invoice total is zero",
    )
    assert result.reason_code == "zero_total"
    assert flow.ledger.invoices(TENANT) == []


def test_a_zero_total_invoice_is_written_when_the_option_is_off():
    flow = flow_for(skip_zero_total=False)

    [result] = flow.send(invoice(product("10.00"), charge(LineKind.DISCOUNT, "-10.00")))

    assert result.action is SyncAction.CREATED


def test_an_edit_of_a_draft_invoice_updates_it():
    flow = flow_for(status=XeroInvoiceStatus.DRAFT)
    flow.send(HUNDRED)

    [result] = flow.send(invoice(product("120.00")))

    assert result.action is SyncAction.UPDATED
    assert flow.the_invoice().total == Decimal("120.00")


def test_an_edit_of_an_approved_xero_invoice_with_nothing_paid_updates_it():
    flow = flow_for()
    flow.send(HUNDRED)

    [result] = flow.send(invoice(product("120.00")))

    assert result.action is SyncAction.UPDATED
    assert (flow.the_invoice().status, flow.the_invoice().total) == (
        "AUTHORISED",
        Decimal("120.00"),
    )


def test_an_edit_of_an_approved_xero_invoice_with_a_payment_is_an_exception():
    flow = flow_for()
    flow.send(HUNDRED, payment("30.00"))

    [result] = flow.send(invoice(product("120.00")))

    assert result.action is SyncAction.FAILED
    assert result.reason.startswith("exception: ") and "a payment of 30.00" in result.reason
    assert flow.the_invoice().total == Decimal("100.00")


def test_a_payment_is_applied_to_its_invoice(destination):
    flow = flow_for(destination)

    results = flow.send(HUNDRED, payment("40.00"))

    assert outcomes(results)[1] == ("payment", "7781", SyncAction.CREATED)
    assert flow.the_invoice().amount_due == Decimal("60.00")


def test_a_replayed_payment_is_skipped_and_not_paid_twice(destination):
    flow = flow_for(destination)
    flow.send(HUNDRED, payment("40.00"))

    [result] = flow.send(payment("40.00"))

    assert (result.action, result.reason) == (SyncAction.SKIPPED, "already synced")
    assert not needs_attention(result.action, result.reason_code, result.reason)
    assert flow.the_invoice().amount_due == Decimal("60.00")


def test_a_payment_waits_for_its_draft_invoice_and_is_applied_once_approved():
    flow = flow_for(status=XeroInvoiceStatus.DRAFT)
    [_, held] = flow.send(HUNDRED, payment("40.00"))
    assert held.action is SyncAction.HELD and "DRAFT" in held.reason

    assert flow.recheck_later() == []  # still a draft: held quietly
    flow.ledger.approve(TENANT, flow.the_invoice().destination_id)
    [applied] = flow.recheck_later()

    assert (applied.action, applied.reason) == (
        SyncAction.CREATED,
        "applied once the invoice was approved",
    )
    assert flow.the_invoice().amount_due == Decimal("60.00")
    assert flow.held.tenants("xero") == []


def test_a_payment_before_its_invoice_is_held_then_applied(destination):
    flow = flow_for(destination)

    [held] = flow.send(payment("40.00"))
    flow.send(HUNDRED)
    [applied] = flow.recheck_later()

    assert (held.action, held.reason) == (
        SyncAction.HELD,
        "its invoice is not in the destination yet",
    )
    assert applied.action is SyncAction.CREATED
    assert flow.the_invoice().amount_due == Decimal("60.00")


def test_an_overpayment_is_skipped_and_the_invoice_left_alone(destination):
    flow = flow_for(destination)

    [_, skipped] = flow.send(HUNDRED, payment("130.00"))

    assert (skipped.action, skipped.reason) == (
        SyncAction.SKIPPED,
        "overpayment: 130.00 would overpay the 100.00 due",
    )
    assert needs_attention(skipped.action, skipped.reason_code)  # the tenant is told
    assert skipped.destination_id == flow.the_invoice().destination_id
    assert flow.the_invoice().amount_due == Decimal("100.00")


def test_an_overpayment_goes_to_the_ledger_when_the_option_is_off():
    flow = flow_for(skip_overpayments=False)

    [_, refused] = flow.send(HUNDRED, payment("130.00"))

    assert (refused.action, refused.reason) == (
        SyncAction.FAILED,
        "the payment exceeds the amount due",
    )


def test_a_refund_is_recorded_as_a_document_of_its_own(destination):
    flow = flow_for(destination)

    results = flow.send(
        HUNDRED, payment("100.00"), payment("30.00", kind=PaymentKind.REFUND, payment_id="7782")
    )

    assert [r.action for r in results] == [SyncAction.CREATED] * 3
    [refund] = flow.ledger.refunds(TENANT)
    assert (refund.keap_payment_id, refund.amount) == ("7782", Decimal("30.00"))


def test_a_replayed_refund_after_a_lost_id_map_is_adopted_not_written_twice():
    flow = flow_for()
    refund = payment("30.00", kind=PaymentKind.REFUND, payment_id="7782")
    flow.send(HUNDRED, refund)
    flow.id_map.lose_everything()

    [_, again] = flow.send(HUNDRED, refund)

    assert (again.action, again.reason) == (
        SyncAction.SKIPPED,
        "already synced (found by its number)",
    )
    assert len(flow.ledger.refunds(TENANT)) == 1


def test_payments_are_skipped_when_the_tenant_syncs_invoices_only():
    flow = flow_for(sync_payments=False)

    [_, skipped] = flow.send(HUNDRED, payment("40.00"))

    assert (skipped.action, skipped.reason) == (
        SyncAction.SKIPPED,
        "payments_not_synced: tenant syncs invoices only",
    )
    assert flow.the_invoice().amount_due == Decimal("100.00")


def test_a_number_the_company_used_for_its_own_invoice_is_a_clash_left_alone(destination):
    flow = flow_for(destination)
    theirs = flow.ledger.add_own_invoice(TENANT, "1042", "75.00")

    [result] = flow.send(HUNDRED)

    assert result.action is SyncAction.FAILED
    assert result.reason.startswith("number clash: ") and "invoice 1042" in result.reason
    assert result.destination_id == theirs.destination_id
    assert (theirs.total, theirs.edits, len(flow.ledger.invoices(TENANT))) == (
        Decimal("75.00"),
        0,
        1,
    )
    assert flow.id_map.get(TENANT, destination.value, "invoice", "1042") is None


def test_an_invoice_number_prefix_keeps_keaps_numbers_apart_from_the_companys(destination):
    flow = flow_for(destination, invoice_number_prefix="K-")
    flow.ledger.add_own_invoice(TENANT, "1042", "75.00")

    [result] = flow.send(HUNDRED)

    assert (result.action, result.invoice_number) == (SyncAction.CREATED, "K-1042")
    numbers = sorted(stored.number for stored in flow.ledger.invoices(TENANT))
    assert numbers == ["1042", "K-1042"]


def test_a_lost_id_map_finds_the_invoice_by_its_number(destination):
    flow = flow_for(destination)
    flow.send(HUNDRED)
    flow.id_map.lose_everything()

    [result] = flow.send(HUNDRED)

    assert (result.action, result.reason) == (
        SyncAction.SKIPPED,
        "already synced (found by its number)",
    )
    assert len(flow.ledger.invoices(TENANT)) == 1
    assert flow.id_map.get(TENANT, destination.value, "invoice", "1042") is not None


def test_a_lost_id_map_finds_the_payment_on_its_invoice(destination):
    flow = flow_for(destination)
    flow.send(HUNDRED, payment("40.00"))
    flow.id_map.lose_everything()

    [_, result] = flow.send(HUNDRED, payment("40.00"))

    assert (result.action, result.reason) == (
        SyncAction.SKIPPED,
        "already synced (found on the invoice)",
    )
    assert flow.the_invoice().amount_due == Decimal("60.00")


def test_a_batch_is_cut_at_the_ledgers_largest(destination):
    flow = flow_for(destination)
    flow.ledger.max_batch = 2
    invoices = [replace(HUNDRED, keap_invoice_id=str(n), invoice_number=str(n)) for n in range(5)]

    results = flow.send(*invoices)

    assert [r.action for r in results] == [SyncAction.CREATED] * 5
    assert len(flow.ledger.invoices(TENANT)) == 5


def test_a_disconnected_destination_fails_the_run_so_reconnecting_drives_it_again():
    flow = flow_for()

    def disconnected(*args, **kwargs):
        raise Disconnected("refresh token revoked")

    flow.ledger.create_invoices = disconnected  # type: ignore[method-assign]
    [result] = flow.send(HUNDRED)

    assert result.action is SyncAction.FAILED
    assert "connection lost" in result.reason and "reconnecting it syncs" in result.reason


# -- re-sync after a reconciliation ----------------------------------------------------------


def reissue(flow: Flow, number: str) -> None:
    """What re-sync does to the mapping of an invoice the bookkeeper voided."""
    key = (TENANT, flow.ledger.destination.value, "invoice", "1042")
    flow.id_map.put(
        *key, replace(flow.id_map.get(*key), destination_status=TO_REISSUE, ledger_number=number)
    )


def test_a_voided_invoice_is_written_again_under_its_reissue_number(destination):
    flow = flow_for(destination)
    flow.send(HUNDRED)
    voided = flow.the_invoice()
    flow.ledger.take_out(TENANT, voided.destination_id)
    reissue(flow, "1042-2")

    [result] = flow.send(HUNDRED)

    assert result.action is SyncAction.CREATED
    [again] = [i for i in flow.ledger.invoices(TENANT) if i.destination_id != voided.destination_id]
    assert (again.number, again.total) == ("1042-2", Decimal("100.00"))
    mapped = flow.id_map.get(TENANT, destination.value, "invoice", "1042")
    assert (mapped.destination_id, mapped.ledger_number) == (again.destination_id, "1042-2")
    # Later edits and payments go to the reissued invoice, under its own number.
    edited = invoice(product("120.00"))
    results = flow.send(edited, payment("40.00"))
    assert outcomes(results) == [
        ("invoice", "1042", SyncAction.UPDATED),
        ("payment", "7781", SyncAction.CREATED),
    ]
    assert (again.total, again.amount_due, again.edits) == (
        Decimal("120.00"),
        Decimal("80.00"),
        1,
    )
    assert len(flow.ledger.invoices(TENANT)) == 2


def test_a_reissue_lost_between_its_create_and_its_mapping_is_adopted_not_written_twice():
    flow = flow_for(Destination.XERO)
    flow.send(HUNDRED)
    flow.ledger.take_out(TENANT, flow.the_invoice().destination_id)
    reissue(flow, "1042-2")
    flow.send(HUNDRED)
    reissue(flow, "1042-2")  # as if the mapping of the reissue had not been written

    [result] = flow.send(HUNDRED)

    assert result.reason == "already synced (found by its number)"
    assert [i.number for i in flow.ledger.invoices(TENANT)] == ["1042", "1042-2"]


@pytest.mark.parametrize(
    ("destination", "status", "taken_out_as"),
    [
        (Destination.XERO, XeroInvoiceStatus.AUTHORISED, "VOIDED"),
        (Destination.XERO, XeroInvoiceStatus.DRAFT, "DELETED"),
        (Destination.QBO, XeroInvoiceStatus.AUTHORISED, "VOIDED"),
    ],
)
def test_the_invoice_of_a_deleted_keap_order_is_taken_out_when_asked(
    destination, status, taken_out_as
):
    flow = flow_for(destination, status=status)
    flow.send(HUNDRED)
    stored = flow.the_invoice()

    [result] = flow.ask_to_void(stored.destination_id)

    assert (result.action, result.keap_id) == (SyncAction.UPDATED, "1042")
    assert "Keap order 987 was deleted" in result.reason
    assert stored.status == taken_out_as
    mapped = flow.id_map.get(TENANT, destination.value, "invoice", "1042")
    assert mapped.destination_status == taken_out_as
    [again] = flow.ask_to_void(stored.destination_id)
    assert again.action is SyncAction.SKIPPED


def test_a_void_request_leaves_a_paid_invoice_and_another_orders_invoice_alone(destination):
    flow = flow_for(destination)
    flow.send(HUNDRED, payment("40.00"))
    stored = flow.the_invoice()

    [paid] = flow.ask_to_void(stored.destination_id)
    [not_that_order] = flow.ask_to_void(stored.destination_id, keap_order_id="555")

    assert paid.action is SyncAction.FAILED and "40.00 paid or credited" in paid.reason
    assert not_that_order.action is SyncAction.FAILED
    assert "does not carry Keap order 555" in not_that_order.reason
    assert stored.status == ("AUTHORISED" if destination is Destination.XERO else "Open")
