"""The notification settings' preview: the daily summary of what is waiting, as it would go now."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template

from admin import tenant_operations as operations
from admin.api.context import services
from admin.console.blueprint import console_routes
from admin.console.console_session import tenant_page_required
from invoicesync.notification_summaries import summary_now
from invoicesync.stores.notification_outbox import NotificationOutbox


@console_routes.get("/tenants/<tenant_id>/settings/summary")
@tenant_page_required
def summary_preview(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    draft = summary_now(
        NotificationOutbox(services().redis),
        services().tenants,
        services().settings.public_base_url,
        tenant.id,
        datetime.now(UTC),
    )
    return render_template(
        "console/summary_preview.html",
        tenant=tenant,
        draft=draft,
        settings=services().tenants.settings(tenant.id),
        page="settings",
    )
