"""The monthly reconciliation email: with the clock moved to the 1st, the admin reconciles the
previous month of the tenant that opted in (Keap and Xero stand-ins) and the notification
sender emails it once over real SMTP; a tenant that did not opt in gets nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from admin.admin_services import AdminServices
from admin.monthly_reconciliation import MonthlyReconciliations
from admin.reconciliation import run_reconciliation
from invoicesync.clients.smtp_mail import SmtpMailer
from invoicesync.crypto import generate_key
from invoicesync.domain.tenant_settings import XeroSettings
from invoicesync.stores.monthly_reports import MonthlyReports
from invoicesync.stores.notification_outbox import NotificationOutbox
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from notifications.options import NotificationOptions
from notifications.sender import NotificationSender
from tests.integration.stores.local_servers import pointed_at_xero, serving
from tests.integration.transform.keap_stand_in import keap_stand_in
from tests.integration.xero_writer.xero_tenants import connect_xero_tenant

LINE = {"name": "Widget", "quantity": 1, "item_type": "OTHER", "price_per_unit": "9.00"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def books(mail_settings, redis_client):
    settings = replace(mail_settings, token_encryption_key=generate_key())
    with serving(create_xero_app()) as xero, keap_stand_in(settings, redis_client) as keap:
        settings = pointed_at_xero(keap.settings, xero)
        services = AdminServices.from_settings(settings, publish_timeout_seconds=30)
        tenants = {}
        for name, opted_in in (("opted-in", True), ("not-opted-in", False)):
            tenant_id = connect_xero_tenant(
                xero,
                services.tenants,
                services.tokens,
                f"{name}-{uuid.uuid4().hex[:6]}",
                XeroSettings(),
            )
            keap.connect(tenant_id)
            saved = services.tenants.settings(tenant_id)
            sync = replace(
                saved.sync,
                notification_email=f"{name}@acme.test",
                monthly_reconciliation_email=opted_in,
            )
            services.tenants.save_settings(tenant_id, replace(saved, sync=sync))
            tenants[name] = tenant_id
        for _ in range(2):
            keap.order([LINE], order_time="2026-06-03T10:00:00Z")
        yield services, tenants
        services.close()


def test_on_the_first_one_email_goes_to_the_opted_in_tenant_and_none_to_the_other(
    books, smtp_server
):
    services, tenants = books
    clock = Clock(datetime(2026, 6, 20, 12, 0, tzinfo=UTC))
    monthly = MonthlyReconciliations(services, clock=clock, run_job=run_reconciliation)
    sender = NotificationSender(
        services.settings,
        NotificationOutbox(services.redis),
        services.tenants,
        SmtpMailer(services.settings),
        NotificationOptions(),
        clock=clock,
        monthly_reports=MonthlyReports(services.redis),
    )
    assert monthly.tick() == 0  # opted in mid-June: the first report is July's
    assert sender.send_monthly_reports() == 0

    clock.now = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # the 1st, after 07:00 in UTC
    assert monthly.tick() == 1
    assert sender.send_monthly_reports() == 1
    assert monthly.tick() == 0 and sender.send_monthly_reports() == 0  # once a month

    [email] = smtp_server.inbox
    assert email["To"] == "opted-in@acme.test"
    assert "reconciliation for opted-in-" in email["Subject"]
    assert email["Subject"].endswith("June 2026: 2 to look at")
    text = email.get_body(("plain",)).get_content()
    assert "2026-06-01 to 2026-06-30" in text
    assert "Missing in the ledger: USD 2  Keap 18.00  ledger 0.00" in text
    assert f"http://admin.test/tenants/{tenants['opted-in']}/reconciliation?job=" in text
