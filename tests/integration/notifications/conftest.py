"""A real SMTP server (aiosmtpd) per test, and the tenants the notification sender reads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import (
    EmailMode,
    KeapSettings,
    SyncSettings,
    TenantSettings,
)
from invoicesync.stores.tenants import Tenant
from tests.infrastructure import free_port


class _Collector:
    def __init__(self, inbox: list[EmailMessage]) -> None:
        self._inbox = inbox
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self._inbox.append(message)
        return "250 OK"


@dataclass
class SmtpServer:
    """aiosmtpd on a port of its own; it can be stopped and started again on that port."""

    port: int
    inbox: list[EmailMessage] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Collector(self.inbox), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings, smtp_server):
    return replace(settings, smtp_port=smtp_server.port, public_base_url="http://admin.test")


@dataclass
class TenantBook:
    """Tenant records and settings as the sender reads them (TenantStore offers the same)."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    saved: dict[str, TenantSettings] = field(default_factory=dict)

    def add(
        self,
        tenant_id: str,
        mode: EmailMode,
        email: str = "ops@acme.test",
        *,
        timezone: str = "UTC",
        hour: int = 7,
    ) -> None:
        self.tenants[tenant_id] = Tenant(
            id=tenant_id,
            name=f"Acme {tenant_id}",
            destination=Destination.XERO,
            created_at=datetime.now(UTC),
            hook_token="unused",
            settings_saved=True,
        )
        sync = SyncSettings(email_mode=mode, notification_email=email, daily_summary_hour=hour)
        self.saved[tenant_id] = TenantSettings(
            destination=Destination.XERO, sync=sync, keap=KeapSettings(timezone=timezone)
        )

    def get(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def settings(self, tenant_id: str) -> TenantSettings:
        return self.saved[tenant_id]


@pytest.fixture
def tenant_book() -> TenantBook:
    return TenantBook()
