"""The activity log: what happened to each invoice and payment, newest first, paged."""

from __future__ import annotations

from flask import Blueprint, jsonify

from admin import tenant_operations as operations
from admin.api.context import load_query, services, tenant_access_required
from admin.api.schemas import ActivityQuerySchema

activity_routes = Blueprint("activity", __name__, url_prefix="/api/v1/tenants")


@activity_routes.get("/<tenant_id>/activity")
@tenant_access_required
def activity(tenant_id: str):
    tenant = operations.require_tenant(services(), tenant_id)
    query = load_query(ActivityQuerySchema())
    page = services().activity.page(
        tenant.id,
        outcome=query["outcome"],
        query=query["q"],
        contains=query["contains"],
        since=query["since"],
        cursor=query["cursor"],
        limit=query["limit"],
    )
    return jsonify(
        entries=[entry.to_json() for entry in page.entries],
        next_cursor=page.next_cursor,
        hourly=services().activity.hourly_counts(tenant.id),
    )
