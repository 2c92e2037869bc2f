"""Activity (newest first, filtered, linked to the destination) and Health (chart, lag, last
poll, the ReverseSync poll's ledger calls, and the operator's dead-letter list with replay)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from admin import tenant_operations as operations
from admin.api.context import services
from admin.api.schemas import ActivityQuerySchema, DeadLetterReplaySchema
from admin.console.blueprint import console_routes
from admin.console.console_session import (
    operator_page_required,
    signed_in_key,
    tenant_page_required,
)
from admin.console.health_chart import hourly_chart
from admin.console.plain_words import field_errors
from admin.console.side_by_side import destination_link
from admin.ledger_poll_budget import poll_budget_lines
from admin.replay import (
    DeadLetterFilter,
    list_dead_letters,
    replay_dead_letter,
    replay_dead_letters,
)
from admin.stores.api_keys import Role
from invoicesync.errors import Transient

ACTIVITY_LABELS = {
    "outcome": "Outcome",
    "since": "From date",
    "q": "Invoice number or text",
    "cursor": "Page",
}
DEAD_LETTERS_SHOWN = 50


@console_routes.get("/tenants/<tenant_id>/activity")
@tenant_page_required
def activity_page(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    filters = {
        name: request.args.get(name, "").strip() for name in ("outcome", "since", "q", "cursor")
    }
    query = {name: value for name, value in filters.items() if value}
    if "since" in query:
        query["since"] = f"{query['since']}T00:00:00+00:00"
    errors: dict[str, str] = {}
    entries, next_cursor = [], None
    try:
        loaded = ActivityQuerySchema().load(query)
        page = services().activity.page(
            tenant.id,
            outcome=loaded["outcome"],
            contains=loaded["q"],
            since=loaded["since"],
            cursor=loaded["cursor"],
            limit=loaded["limit"],
        )
        entries, next_cursor = page.entries, page.next_cursor
    except ValidationError as exc:
        errors = field_errors(exc, ACTIVITY_LABELS)
    rows = [
        {
            "entry": entry.to_json(),
            "link": destination_link(entry.result.destination, entry.result.destination_id),
        }
        for entry in entries
    ]
    return render_template(
        "console/activity.html",
        tenant=tenant,
        rows=rows,
        filters=filters,
        next_cursor=next_cursor,
        errors=errors,
        failing=len(services().activity.failing(tenant.id)),
        retried=request.args.get("retried", type=int),
        page="activity",
    ), 400 if errors else 200


@console_routes.post("/tenants/<tenant_id>/activity/retry-failed")
@tenant_page_required
def retry_failed(tenant_id: str):
    """The Retry failed button: every invoice and payment whose last outcome failed, again."""
    tenant = operations.require_tenant(services(), tenant_id)
    retried = operations.retry_failed(services(), tenant.id)
    return redirect(url_for("console.activity_page", tenant_id=tenant.id, retried=retried))


@console_routes.get("/tenants/<tenant_id>/health")
@tenant_page_required
def health_page(tenant_id: str):
    key = signed_in_key()
    tenant = operations.require_tenant(services(), tenant_id)
    status = operations.tenant_status(services(), tenant.id)
    chart = hourly_chart(services().activity.hourly_counts(tenant.id))
    dead_letters, dead_letters_error = [], ""
    if key is not None and key.role is Role.OPERATOR:
        try:
            dead_letters = list_dead_letters(
                services().settings, DEAD_LETTERS_SHOWN, tenant.id, redis_client=services().redis
            )
        except Transient:
            dead_letters_error = "The dead-letter list cannot be read right now."
    return render_template(
        "console/health.html",
        tenant=tenant,
        status=status,
        chart=chart,
        poll_lines=poll_budget_lines(status["ledger_poll"]),
        dead_letters=dead_letters,
        dead_letters_error=dead_letters_error,
        replayed=request.args.get("replayed"),
        replayed_all=request.args.get("replayed_all", type=int),
        page="health",
    )


@console_routes.post("/tenants/<tenant_id>/dead-letters/replay")
@operator_page_required
def dead_letter_replay(tenant_id: str):
    operations.require_tenant(services(), tenant_id)
    offset = request.form.get("offset", "")
    loaded = DeadLetterReplaySchema().load({"offset": int(offset) if offset.isdigit() else -1})
    replayed = replay_dead_letter(
        services().settings,
        loaded["offset"],
        redis_client=services().redis,
        publisher=services().publisher,
    )
    outcome = "yes" if replayed else "already"
    return redirect(url_for("console.health_page", tenant_id=tenant_id, replayed=outcome))


@console_routes.post("/tenants/<tenant_id>/dead-letters/replay-all")
@operator_page_required
def dead_letter_replay_all(tenant_id: str):
    """Every dead letter of the tenant not replayed before, however old or many."""
    tenant = operations.require_tenant(services(), tenant_id)
    outcome = replay_dead_letters(
        services().settings,
        DeadLetterFilter(tenant_id=tenant.id),
        redis_client=services().redis,
        publisher=services().publisher,
    )
    return redirect(
        url_for("console.health_page", tenant_id=tenant.id, replayed_all=outcome.replayed)
    )
