"""A tenant's queued sync results as the email about them: shared by the notification sender
and the operator's send-now and preview (CLI and console)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from invoicesync.domain.digest import Addressee, EmailContent, NotifiedResult, daily_digest
from invoicesync.domain.tenant_settings import TenantSettings
from invoicesync.events import SyncResult
from invoicesync.stores.notification_outbox import NotificationOutbox, OutboxItem
from invoicesync.stores.tenants import Tenant


class TenantDirectory(Protocol):
    """What is read about a tenant (TenantStore provides it)."""

    def get(self, tenant_id: str) -> Tenant | None: ...

    def settings(self, tenant_id: str) -> TenantSettings: ...


class Mailer(Protocol):
    def send(self, recipient: str, content: EmailContent) -> None: ...


def notified(result: SyncResult) -> NotifiedResult:
    return NotifiedResult(
        outcome=result.action.value,
        object_type=result.object_type,
        keap_id=result.keap_id,
        recorded_at=result.recorded_at,
        reason=result.reason,
        invoice_number=result.invoice_number,
        destination=result.destination,
        destination_id=result.destination_id,
        reason_code=result.reason_code,
    )


def addressee_for(tenant: Tenant, settings: TenantSettings, public_base_url: str) -> Addressee:
    return Addressee(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        activity_base_url=public_base_url,
        timezone=settings.keap.timezone,
    )


@dataclass(frozen=True)
class SummaryDraft:
    """The daily summary of everything waiting for a tenant, as it would go out now."""

    recipient: str
    items: list[OutboxItem]
    content: EmailContent | None  # None: nothing waiting

    @property
    def entry_ids(self) -> list[str]:
        return [item.entry_id for item in self.items]


def summary_now(
    outbox: NotificationOutbox,
    tenants: TenantDirectory,
    public_base_url: str,
    tenant_id: str,
    now: datetime,
) -> SummaryDraft:
    """The summary of every result waiting for the tenant, up to `now`. KeyError: no tenant."""
    tenant = tenants.get(tenant_id)
    if tenant is None:
        raise KeyError(tenant_id)
    settings = tenants.settings(tenant_id)
    items = outbox.pending(tenant_id)
    addressee = addressee_for(tenant, settings, public_base_url)
    day = now.astimezone(ZoneInfo(addressee.timezone)).date()
    results = [notified(item.result) for item in items]
    start = min((result.recorded_at for result in results), default=now)
    content = daily_digest(addressee, day, results, covers_from=start, covers_to=now)
    return SummaryDraft(settings.sync.notification_email.strip(), items, content)


def send_summary_now(
    outbox: NotificationOutbox, mailer: Mailer, tenant_id: str, draft: SummaryDraft, now: datetime
) -> bool:
    """Send the draft and take its results out of the outbox; False when there was nothing
    to send or nowhere to send it. The daily schedule goes on as before."""
    if draft.content is None or not draft.recipient:
        return False
    mailer.send(draft.recipient, draft.content)
    outbox.record_sent(tenant_id, now)
    outbox.remove(tenant_id, draft.entry_ids)
    return True
