"""Sync results through real Kafka and Redis to a real SMTP server, in both email modes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from invoicesync.clients.smtp_mail import SmtpMailer
from invoicesync.domain.tenant_settings import EmailMode
from invoicesync.events import EventType, SyncAction, SyncResult, Topic, envelope_for
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.stores.locks import Lease
from invoicesync.stores.notification_outbox import NotificationOutbox
from notifications.options import NotificationOptions
from notifications.outbox_consumer import build_consumer_loop
from notifications.sender import SENDER_LEASE, NotificationSender, SenderLoop
from tests.waiting import DEADLINE_SECONDS

OPTIONS = NotificationOptions(window_seconds=300, retry_base_seconds=30, retry_max_seconds=600)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def sync_result(action: SyncAction, keap_id: str, reason: str = "") -> SyncResult:
    return SyncResult(
        destination="xero",
        object_type="invoice",
        keap_id=keap_id,
        action=action,
        recorded_at=datetime.now(UTC),
        reason=reason,
        invoice_number=f"INV-{keap_id}",
    )


def publish_results(settings, tenant_id: str, results: list[SyncResult]) -> None:
    publisher = Publisher(settings)
    publisher.publish_all(
        [
            Outgoing(
                Topic.SYNC_RESULTS,
                envelope_for(EventType.SYNC_RESULT_RECORDED, tenant_id, result),
            )
            for result in results
        ]
    )
    publisher.close()


def consume_into_outbox(settings, redis_client, group: str, tenant_id: str, expected: int):
    loop = build_consumer_loop(settings, redis_client, group_id=group)
    outbox = NotificationOutbox(redis_client)
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while len(outbox.pending(tenant_id)) < expected:
            assert time.monotonic() < deadline, "the results did not reach the outbox"
            loop.poll_once()
    finally:
        loop.close()


def sender_for(settings, redis_client, tenant_book, clock: Clock, options=OPTIONS):
    return NotificationSender(
        settings,
        NotificationOutbox(redis_client),
        tenant_book,
        SmtpMailer(settings, timeout_seconds=5),
        options,
        clock=clock,
    )


def body_of(message: EmailMessage, subtype: str = "plain") -> str:
    # SMTP carries CRLF line ends; compare with what the digest wrote.
    return message.get_body(preferencelist=(subtype,)).get_content().replace("\r\n", "\n")


def test_exceptions_only_mode_sends_nothing_on_a_clean_day(
    mail_settings, redis_client, unique_name, smtp_server, tenant_book
):
    tenant = f"{unique_name}-clean"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    publish_results(
        mail_settings,
        tenant,
        [sync_result(SyncAction.CREATED, str(n)) for n in range(5)]
        + [sync_result(SyncAction.UPDATED, "9")],
    )
    consume_into_outbox(mail_settings, redis_client, unique_name, tenant, 6)
    clock = Clock()
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)

    clock.advance(24 * 3600)
    assert sender.send_due() == 0

    assert smtp_server.inbox == []
    assert NotificationOutbox(redis_client).pending(tenant) == []


def test_a_storm_of_200_failures_sends_one_email_when_the_window_closes(
    mail_settings, redis_client, unique_name, smtp_server, tenant_book
):
    tenant = f"{unique_name}-storm"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    storm = [sync_result(SyncAction.FAILED, str(n), "Xero answered 503") for n in range(200)]
    publish_results(mail_settings, tenant, storm)
    consume_into_outbox(mail_settings, redis_client, unique_name, tenant, 200)
    clock = Clock()
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)

    assert sender.send_due() == 0  # the window is still open
    clock.advance(OPTIONS.window_seconds + 1)
    assert sender.send_due() == 1
    assert sender.send_due() == 0

    [message] = smtp_server.inbox
    assert message["Subject"] == f"InvoiceSync: 200 failed for Acme {tenant}"
    assert "Xero answered 503" in body_of(message)
    assert f"activity?tenant_id={tenant}&outcome=failed" in body_of(message)
    assert NotificationOutbox(redis_client).pending(tenant) == []


def test_failures_after_a_sent_window_open_a_new_one(
    mail_settings, redis_client, smtp_server, tenant_book, unique_name
):
    tenant = f"{unique_name}-again"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    outbox = NotificationOutbox(redis_client)
    clock = Clock()
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)
    outbox.append(tenant, "e1", sync_result(SyncAction.FAILED, "1", "first"), clock.now)
    clock.advance(OPTIONS.window_seconds)
    assert sender.send_due() == 1

    outbox.append(tenant, "e2", sync_result(SyncAction.SKIPPED, "2", "second"), clock.now)
    clock.advance(OPTIONS.window_seconds - 1)
    assert sender.send_due() == 0
    clock.advance(1)
    assert sender.send_due() == 1

    first, second = smtp_server.inbox
    assert "first" in body_of(first) and "second" not in body_of(first)
    assert "second" in body_of(second) and "first" not in body_of(second)


def test_an_smtp_server_that_is_down_loses_nothing_and_the_email_goes_out_when_it_is_back(
    mail_settings, redis_client, smtp_server, tenant_book, unique_name
):
    tenant = f"{unique_name}-down"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    outbox = NotificationOutbox(redis_client)
    clock = Clock()
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)
    for n in range(3):
        outbox.append(tenant, f"e{n}", sync_result(SyncAction.FAILED, str(n), "boom"), clock.now)
    smtp_server.stop()
    clock.advance(OPTIONS.window_seconds)

    assert sender.send_due() == 0
    assert len(outbox.pending(tenant)) == 3
    assert outbox.delivery_state(tenant).failures == 1

    smtp_server.start()
    clock.advance(OPTIONS.retry_base_seconds - 1)
    assert sender.send_due() == 0  # backing off
    clock.advance(1)
    assert sender.send_due() == 1

    [message] = smtp_server.inbox
    assert message["Subject"] == f"InvoiceSync: 3 failed for Acme {tenant}"
    assert outbox.pending(tenant) == []
    assert outbox.delivery_state(tenant).failures == 0


def test_repeated_smtp_failures_back_off_exponentially_up_to_the_cap(
    mail_settings, redis_client, smtp_server, tenant_book, unique_name
):
    tenant = f"{unique_name}-backoff"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    outbox = NotificationOutbox(redis_client)
    clock = Clock()
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)
    outbox.append(tenant, "e1", sync_result(SyncAction.FAILED, "1", "boom"), clock.now)
    smtp_server.stop()
    clock.advance(OPTIONS.window_seconds)

    waits = []
    for _ in range(6):
        assert sender.send_due() == 0
        retry_at = outbox.delivery_state(tenant).retry_at
        waits.append((retry_at - clock.now).total_seconds())
        clock.now = retry_at

    assert waits == [30, 60, 120, 240, 480, 600]
    assert len(outbox.pending(tenant)) == 1


def test_only_the_replica_holding_the_lease_sends(
    mail_settings, redis_client, smtp_server, tenant_book, unique_name
):
    tenant = f"{unique_name}-lease"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    outbox = NotificationOutbox(redis_client)
    clock = Clock()
    outbox.append(tenant, "e1", sync_result(SyncAction.FAILED, "1", "boom"), clock.now)
    clock.advance(OPTIONS.window_seconds)
    replicas = [
        SenderLoop(
            sender_for(mail_settings, redis_client, tenant_book, clock),
            Lease(redis_client, SENDER_LEASE, 30, scope=unique_name),
            OPTIONS,
        )
        for _ in range(2)
    ]

    assert [replica.tick() for replica in replicas] == [1, 0]
    outbox.append(tenant, "e2", sync_result(SyncAction.FAILED, "2", "boom"), clock.now)
    clock.advance(OPTIONS.window_seconds)
    assert [replica.tick() for replica in reversed(replicas)] == [0, 1]
    assert len(smtp_server.inbox) == 2


def test_a_result_delivered_again_after_its_email_went_out_is_not_mailed_twice(
    mail_settings, redis_client, unique_name, smtp_server, tenant_book
):
    tenant = f"{unique_name}-replay"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY)
    publish_results(mail_settings, tenant, [sync_result(SyncAction.FAILED, "1", "boom")])
    consume_into_outbox(mail_settings, redis_client, unique_name, tenant, 1)
    clock = Clock()
    sender = sender_for(mail_settings, redis_client, tenant_book, clock)
    clock.advance(OPTIONS.window_seconds + 1)
    assert sender.send_due() == 1

    replay = build_consumer_loop(mail_settings, redis_client, group_id=f"{unique_name}-again")
    redelivered = 0
    deadline = time.monotonic() + DEADLINE_SECONDS
    while redelivered < 1 and time.monotonic() < deadline:
        redelivered += replay.poll_once()
    replay.close()
    assert redelivered == 1
    clock.advance(OPTIONS.window_seconds + 1)

    assert sender.send_due() == 0
    assert len(smtp_server.inbox) == 1


def test_a_tenant_without_a_notification_address_gets_nothing_and_its_queue_is_dropped(
    mail_settings, redis_client, smtp_server, tenant_book, unique_name
):
    tenant = f"{unique_name}-nomail"
    tenant_book.add(tenant, EmailMode.EXCEPTIONS_ONLY, email="")
    outbox = NotificationOutbox(redis_client)
    clock = Clock()
    outbox.append(tenant, "e1", sync_result(SyncAction.FAILED, "1", "boom"), clock.now)
    clock.advance(OPTIONS.window_seconds)

    assert sender_for(mail_settings, redis_client, tenant_book, clock).send_due() == 0
    assert smtp_server.inbox == []
    assert outbox.pending(tenant) == []
    assert tenant not in outbox.tenants_waiting()


def test_a_tenant_whose_settings_cannot_be_read_does_not_hold_up_the_others(
    mail_settings, redis_client, smtp_server, tenant_book, unique_name
):
    broken, healthy = f"{unique_name}-a-broken", f"{unique_name}-b-healthy"
    tenant_book.add(broken, EmailMode.EXCEPTIONS_ONLY)
    tenant_book.add(healthy, EmailMode.EXCEPTIONS_ONLY)
    del tenant_book.saved[broken]
    outbox = NotificationOutbox(redis_client)
    clock = Clock()
    for tenant in (broken, healthy):
        outbox.append(tenant, "e1", sync_result(SyncAction.FAILED, "1", "boom"), clock.now)
    clock.advance(OPTIONS.window_seconds)

    assert sender_for(mail_settings, redis_client, tenant_book, clock).send_due() == 1

    [message] = smtp_server.inbox
    assert message["Subject"] == f"InvoiceSync: 1 failed for Acme {healthy}"
    assert len(outbox.pending(broken)) == 1
