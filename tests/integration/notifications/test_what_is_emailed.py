"""What reaches the bookkeeper's inbox through the real notification pipeline: sync results
published on `sync.results` (real Kafka), queued by the real outbox consumer (real Redis), sent
by the real sender to a real SMTP server.

The results are the ones the services record for this work, built with the same helpers and
rules they use (outcomes.sync_result, the SkipDecisions of sync_rules, the edit refusal of
invoice_edits), rather than driven through Keap, transform, the writers and ReverseSync: the
notifications consume only these events, and the full stack for 25 orders would take minutes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from admin.cli import run
from invoicesync.crypto import generate_key
from invoicesync.domain.canonical import Destination, SkipDecision
from invoicesync.domain.invoice_edits import invoice_edit_decision
from invoicesync.domain.payment_to_ledger import LedgerInvoice
from invoicesync.domain.sync_rules import SkipReason
from invoicesync.domain.tenant_settings import EmailMode, KeapSettings, SyncSettings, TenantSettings
from invoicesync.events import SyncAction, payload_of
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.notification_outbox import NotificationOutbox
from invoicesync.stores.tenants import TenantStore
from invoicesync.writing.outcomes import INVOICE, PAYMENT, sync_result
from tests.integration.notifications.test_notification_emails import (
    OPTIONS,
    Clock,
    body_of,
    consume_into_outbox,
    sender_for,
)

REVERSE_PAYMENT = "reverse_payment"  # what ReverseSync records its Keap payments as


def result(
    tenant: str,
    object_type: str,
    keap_id: str,
    action: SyncAction,
    at: datetime,
    *,
    reason: str = "",
    code: str = "",
    number: str | None = None,
    service: str = "xero",
) -> Outgoing:
    return sync_result(
        tenant,
        service,
        object_type,
        keap_id,
        action,
        lambda: at,
        reason=reason,
        invoice_number=number,
        reason_code=code,
    )


def skipped_by_transform(tenant: str, kind: str, keap_id: str, skip: SkipDecision, at, number):
    return result(
        tenant,
        kind,
        keap_id,
        SyncAction.SKIPPED,
        at,
        reason=skip.summary,
        code=skip.reason,
        number=number,
    )


def an_ordinary_order_with_a_keap_payment(tenant: str, n: int, at: datetime) -> list[Outgoing]:
    number, payment_id = f"INV-{1000 + n}", f"p{n}"
    return [
        result(tenant, INVOICE, str(1000 + n), SyncAction.CREATED, at, number=number),
        # The payment's hook: transform reads the order again, the writer finds the invoice
        # already written, then writes the payment.
        result(
            tenant,
            INVOICE,
            str(1000 + n),
            SyncAction.SKIPPED,
            at,
            reason="already synced",
            code=SkipReason.ALREADY_WRITTEN,
            number=number,
        ),
        result(tenant, PAYMENT, payment_id, SyncAction.CREATED, at, number=number),
        # The hourly poll sees the same payment again.
        result(
            tenant,
            PAYMENT,
            payment_id,
            SyncAction.SKIPPED,
            at,
            reason="already synced",
            code=SkipReason.ALREADY_WRITTEN,
            number=number,
        ),
    ]


def a_reverse_sync_payment(tenant: str, n: int, at: datetime) -> list[Outgoing]:
    order, number, keap_payment = str(2000 + n), f"INV-{2000 + n}", f"k{n}"
    echo = SkipDecision(SkipReason.REVERSE_SYNC_ECHO, f"payment {keap_payment} came from us")
    return [
        result(
            tenant,
            REVERSE_PAYMENT,
            order,
            SyncAction.CREATED,
            at,
            reason=f"recorded in Keap as payment {keap_payment}",
        ),
        # A second webhook for the same ledger payment.
        result(
            tenant,
            REVERSE_PAYMENT,
            order,
            SyncAction.SKIPPED,
            at,
            reason=f"already recorded in Keap as payment {keap_payment}",
            code=SkipReason.ALREADY_IN_KEAP,
        ),
        # Keap's hook for the payment ReverseSync recorded: transform recognises its own echo.
        skipped_by_transform(tenant, PAYMENT, keap_payment, echo, at, number),
        result(
            tenant,
            INVOICE,
            order,
            SyncAction.SKIPPED,
            at,
            reason="already synced",
            code=SkipReason.ALREADY_WRITTEN,
            number=number,
        ),
    ]


def publish(settings, events: list[Outgoing]) -> None:
    publisher = Publisher(settings)
    publisher.publish_all(events)
    publisher.close()


def test_routine_work_sends_no_email_and_one_refused_invoice_sends_one_naming_it(
    mail_settings, redis_client, unique_name, smtp_server, tenant_book
):
    tenant = f"{unique_name}-routine"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    now = datetime.now(UTC)
    routine = [
        event for n in range(20) for event in an_ordinary_order_with_a_keap_payment(tenant, n, now)
    ] + [event for n in range(5) for event in a_reverse_sync_payment(tenant, n, now)]
    routine_skips = [e for e in routine if payload_of(e.envelope).action is SyncAction.SKIPPED]
    assert len(routine_skips) == 20 * 2 + 5 * 3  # the results that used to mail the tenant
    publish(mail_settings, routine)
    consume_into_outbox(mail_settings, redis_client, unique_name, tenant, len(routine))
    clock = Clock()  # after the results were queued: the window is measured from then
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)

    assert sender.send_due() == 0
    clock.advance(OPTIONS.window_seconds + 1)
    assert sender.send_due() == 0
    assert smtp_server.inbox == []
    assert NotificationOutbox(redis_client).pending(tenant) == []

    paid_in_xero = LedgerInvoice(
        "xero-77",
        "INV-1099",
        "PAID",
        Decimal("80.00"),
        Decimal("0"),
        False,
        amount_paid=Decimal("80.00"),
    )
    refusal = invoice_edit_decision(Destination.XERO, "INV-1099", paid_in_xero)
    refused = result(
        tenant,
        INVOICE,
        "1099",
        SyncAction.FAILED,
        datetime.now(UTC),
        reason="exception: " + refusal.reason,
        number="INV-1099",
    )
    publish(
        mail_settings,
        [refused, *an_ordinary_order_with_a_keap_payment(tenant, 21, datetime.now(UTC))],
    )
    consume_into_outbox(mail_settings, redis_client, f"{unique_name}-2", tenant, 5)
    clock.now = datetime.now(UTC)
    assert sender.send_due() == 0  # its window is open
    clock.advance(OPTIONS.window_seconds + 1)
    assert sender.send_due() == 1

    [message] = smtp_server.inbox
    assert message["Subject"] == f"InvoiceSync: 1 failed for Acme {tenant}"
    text = body_of(message)
    assert "invoice INV-1099 (Keap id 1099)" in text and "can no longer be edited" in text
    assert "INV-1021" not in text and "already synced" not in text


def in_new_york(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in January 2026 in New York (UTC-5), as UTC."""
    return datetime(2026, 1, day, tzinfo=UTC) + timedelta(hours=hour + 5, minutes=minute)


def daily_tenant(redis_client, name: str) -> str:
    tenants = TenantStore(redis_client)
    tenant = tenants.create(name, Destination.XERO)
    sync = SyncSettings(
        email_mode=EmailMode.DAILY, notification_email="books@acme.test", daily_summary_hour=8
    )
    keap = KeapSettings(timezone="America/New_York")
    tenants.save_settings(
        tenant.id, TenantSettings(destination=Destination.XERO, keap=keap, sync=sync)
    )
    return tenant.id


def test_a_tenant_switched_to_daily_in_the_afternoon_gets_one_summary_at_its_hour_next_day(
    mail_settings, redis_client, unique_name, smtp_server, capsys
):
    tenant = daily_tenant(redis_client, "Café Ünïcode Holdings")
    zero = SkipDecision(SkipReason.ZERO_TOTAL, "invoice total is zero")
    afternoon = [
        result(tenant, INVOICE, "1", SyncAction.CREATED, in_new_york(10, 14, 5), number="INV-1"),
        result(
            tenant,
            INVOICE,
            "2",
            SyncAction.FAILED,
            in_new_york(10, 15, 30),
            reason="Xero says: account code 999 is not valid",
            number="INV-2",
        ),
        result(
            tenant,
            INVOICE,
            "1",
            SyncAction.SKIPPED,
            in_new_york(10, 18),
            reason="already synced",
            code=SkipReason.ALREADY_WRITTEN,
            number="INV-1",
        ),
    ]
    publish(mail_settings, afternoon)
    consume_into_outbox(mail_settings, redis_client, unique_name, tenant, 3)
    clock = Clock()
    clock.now = in_new_york(10, 14, 10)  # the sender's first look after the switch
    tenants = TenantStore(redis_client)
    sender = sender_for(mail_settings, redis_client, tenants, clock)

    for moment in (in_new_york(10, 14, 10), in_new_york(10, 20), in_new_york(10, 23, 59)):
        clock.now = moment
        assert sender.send_due() == 0, f"nothing on the day of the switch ({moment})"

    overnight = [
        skipped_by_transform(tenant, INVOICE, "3", zero, in_new_york(11, 2), "INV-3"),
        result(tenant, INVOICE, "4", SyncAction.CREATED, in_new_york(11, 7, 59), number="INV-4"),
        result(tenant, INVOICE, "5", SyncAction.CREATED, in_new_york(11, 8, 30), number="INV-5"),
    ]
    publish(mail_settings, overnight)
    consume_into_outbox(mail_settings, redis_client, unique_name, tenant, 6)
    clock.now = in_new_york(11, 7, 59)
    assert sender.send_due() == 0
    clock.now = in_new_york(11, 8)
    assert sender.send_due() == 1
    clock.now = in_new_york(11, 9)
    assert sender.send_due() == 0

    [message] = smtp_server.inbox
    assert message["Subject"] == (
        "InvoiceSync daily summary for Café Ünïcode Holdings, 2026-01-11: "
        "2 created, 1 skipped, 1 failed"
    )
    text = body_of(message)
    assert "from 2026-01-10 08:00 EST to 2026-01-11 08:00 EST" in text
    assert "invoice INV-2 (Keap id 2)" in text and "account code 999" in text
    assert "invoice INV-3 (Keap id 3)" in text and "invoice total is zero" in text
    assert "Not listed: 1 routine checks" in text
    [waiting] = NotificationOutbox(redis_client).pending(tenant)
    assert waiting.result.keap_id == "5"  # after the hour: tomorrow's summary

    cli_settings = replace(mail_settings, token_encryption_key=generate_key())
    assert run(["send-summary", "--tenant", tenant, "--dry-run"], cli_settings) == 0
    printed = capsys.readouterr().out
    assert "To: books@acme.test" in printed
    assert "Subject: InvoiceSync daily summary for Café Ünïcode Holdings" in printed
    assert ": 1 created" in printed and "(dry run: not sent; 1 results still waiting)" in printed
    assert len(smtp_server.inbox) == 1
    assert len(NotificationOutbox(redis_client).pending(tenant)) == 1

    assert run(["send-summary", "--tenant", tenant], cli_settings) == 0
    assert "summary sent to books@acme.test (1 results)" in capsys.readouterr().out
    assert len(smtp_server.inbox) == 2
    assert NotificationOutbox(redis_client).pending(tenant) == []
