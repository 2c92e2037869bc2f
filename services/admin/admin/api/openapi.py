"""The OpenAPI 3 document of the admin API, generated from its marshmallow schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify

from admin.api import schemas

openapi_routes = Blueprint("openapi", __name__)

_JSON = "application/json"
_TENANT = {"in": "path", "name": "tenant_id", "required": True, "schema": {"type": "string"}}
_PROVIDER = {
    "in": "path",
    "name": "provider",
    "required": True,
    "schema": {"type": "string", "enum": ["keap", "xero", "qbo"]},
}
_JOB_ID = {"in": "path", "name": "job_id", "required": True, "schema": {"type": "string"}}
_KEY_ID = {"in": "path", "name": "key_id", "required": True, "schema": {"type": "string"}}
_ERRORS = {
    status: {"description": text, "content": {_JSON: {"schema": "Error"}}}
    for status, text in (
        ("400", "invalid input; `error.field` names the field"),
        ("401", "no or unknown API key"),
        ("403", "the key may not act for this tenant"),
        ("404", "no such tenant (or API key, `error.field` key_id)"),
        (
            "409",
            "processing cannot be switched on yet, or the Xero organisation belongs to "
            "another tenant (`error.field` is organisation_id; an operator may confirm), or "
            "the QuickBooks company does (`error.field` is realmId)",
        ),
        ("503", "Kafka or Redis unavailable; retry"),
    )
}


def _operation(
    summary: str,
    *,
    ok: str = "200",
    response: Any = None,
    body: Any = None,
    query: Any = None,
    path: tuple[dict, ...] = (),
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [*path] + ([{"in": "query", "schema": query}] if query else []),
        "responses": {ok: {"description": summary}, **_ERRORS},
    }
    if response is not None:
        operation["responses"][ok]["content"] = {_JSON: {"schema": response}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {_JSON: {"schema": body}}}
    if public:
        operation["security"] = []
    return operation


def _paths() -> dict[str, dict[str, dict[str, Any]]]:
    tenant = (_TENANT,)
    return {
        "/api/v1/tenants": {
            "post": _operation(
                "create a tenant (operator)",
                ok="201",
                body=schemas.TenantCreateSchema,
                response=schemas.TenantSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}": {
            "get": _operation("a tenant", path=tenant, response=schemas.TenantSchema)
        },
        "/api/v1/tenants/{tenant_id}/settings": {
            "get": _operation(
                "the tenant's settings", path=tenant, response=schemas.SettingsDocumentSchema
            ),
            "put": _operation(
                "replace the tenant's settings (left-out fields take their defaults)",
                path=tenant,
                body=schemas.SettingsDocumentSchema,
                response=schemas.SettingsDocumentSchema,
            ),
        },
        "/api/v1/tenants/{tenant_id}/processing": {
            "put": _operation(
                "switch processing on or off", path=tenant, body=schemas.ProcessingSchema
            )
        },
        "/api/v1/tenants/{tenant_id}/connect/{provider}": {
            "get": _operation(
                "redirect to the provider's consent page", ok="302", path=(_TENANT, _PROVIDER)
            )
        },
        "/api/v1/oauth/{provider}/callback": {
            "get": _operation(
                "the provider's redirect back with a code, in the browser that started "
                "connecting; answers what to confirm",
                path=(_PROVIDER,),
                query=schemas.OAuthCallbackQuerySchema,
                response=schemas.OrganisationChoiceSchema,
                public=True,
            )
        },
        "/api/v1/tenants/{tenant_id}/connect/{provider}/organisation": {
            "get": _operation(
                "what a consent connected, waiting for its confirmation or a choice",
                path=(_TENANT, _PROVIDER),
                response=schemas.OrganisationChoiceSchema,
            ),
            "post": _operation(
                "bind it, by the key that started connecting (confirm: operators only, "
                "a Xero organisation another tenant has)",
                path=(_TENANT, _PROVIDER),
                body=schemas.ChooseOrganisationSchema,
                response=schemas.ConnectionSchema,
            ),
        },
        "/api/v1/tenants/{tenant_id}/api-keys": {
            "get": _operation(
                "the tenant's API keys (never the keys themselves)",
                path=tenant,
                response=schemas.ApiKeyListSchema,
            ),
            "post": _operation(
                "issue another key for the tenant (shown once)",
                ok="201",
                path=tenant,
                body=schemas.ApiKeyCreateSchema,
                response=schemas.ApiKeySchema,
            ),
        },
        "/api/v1/tenants/{tenant_id}/api-keys/{key_id}/rotate": {
            "post": _operation(
                "a new key in place of this one, which stops working at once (shown once)",
                ok="201",
                path=(_TENANT, _KEY_ID),
                response=schemas.ApiKeySchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/api-keys/{key_id}": {
            "delete": _operation("revoke the key", ok="204", path=(_TENANT, _KEY_ID))
        },
        "/api/v1/tenants/{tenant_id}/hook-token/rotate": {
            "post": _operation(
                "a new Keap hook URL; the old one is refused from now on",
                path=tenant,
                response=schemas.HookUrlSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/sync": {
            "post": _operation(
                "Sync ID: publish one invoice now",
                ok="202",
                path=tenant,
                body=schemas.SyncRequestSchema,
                response=schemas.SyncAcceptedSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/preview": {
            "post": _operation(
                "dry run: the ledger document a sync would post for one Keap invoice, or the "
                "next N, with the rules that applied; nothing is written",
                path=tenant,
                body=schemas.PreviewRequestSchema,
                response=schemas.PreviewAnswerSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/retry-failed": {
            "post": _operation(
                "retry failed: sync again every invoice and payment whose last outcome failed",
                ok="202",
                path=tenant,
                response=schemas.RetryFailedSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/reconciliations": {
            "post": _operation(
                "start a reconciliation report for a period (read in the background)",
                ok="202",
                path=tenant,
                body=schemas.ReconciliationRequestSchema,
                response=schemas.ReconciliationJobSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/reconciliations/{job_id}": {
            "get": _operation(
                "a reconciliation's progress, and its report once done",
                path=(_TENANT, _JOB_ID),
                response=schemas.ReconciliationJobSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/reconciliations/{job_id}/csv": {
            "get": _operation("a finished reconciliation as CSV", path=(_TENANT, _JOB_ID))
        },
        "/api/v1/tenants/{tenant_id}/reconciliations/{job_id}/resync": {
            "post": _operation(
                "re-sync: drive the orders of every missing or different row again, void the "
                "ledger invoices of deleted Keap orders, record ledger-only payments in Keap",
                ok="202",
                path=(_TENANT, _JOB_ID),
                response=schemas.ResyncedSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/backfill": {
            "post": _operation(
                "start a backfill (or get the one running)",
                ok="202",
                path=tenant,
                body=schemas.BackfillRequestSchema,
                response=schemas.BackfillJobSchema,
            ),
            "get": _operation(
                "the backfill's progress", path=tenant, response=schemas.BackfillJobSchema
            ),
        },
        "/api/v1/tenants/{tenant_id}/activity": {
            "get": _operation(
                "the activity log, newest first",
                path=tenant,
                query=schemas.ActivityQuerySchema,
                response=schemas.ActivityPageSchema,
            )
        },
        "/api/v1/tenants/{tenant_id}/status": {
            "get": _operation(
                "connections, last poll, consumer lag, counts",
                path=tenant,
                response=schemas.StatusSchema,
            )
        },
        "/api/v1/replay": {
            "post": _operation(
                "replay a tenant's topic from a time (operator)",
                body=schemas.ReplayRequestSchema,
                response=schemas.ReplayedSchema,
            )
        },
        "/api/v1/dlq": {
            "get": _operation(
                "dead letters, newest first, a page at a time (operator)",
                query=schemas.DeadLetterQuerySchema,
                response=schemas.DeadLetterListSchema,
            )
        },
        "/api/v1/dlq/replay-all": {
            "post": _operation(
                "replay every dead letter of a tenant, consumer group and time range not "
                "replayed before (operator)",
                body=schemas.DeadLetterBulkReplaySchema,
                response=schemas.DeadLetterBulkReplayedSchema,
            )
        },
        "/api/v1/dlq/replay": {
            "post": _operation(
                "replay one dead letter, once (operator)",
                body=schemas.DeadLetterReplaySchema,
                response=schemas.DeadLetterReplayedSchema,
            )
        },
    }


def build_openapi(server_url: str) -> dict[str, Any]:
    spec = APISpec(
        title="InvoiceSync admin API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        servers=[{"url": server_url}],
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for path, operations in _paths().items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@openapi_routes.get("/api/v1/openapi.json")
def openapi_document():
    settings = current_app.config["SETTINGS"]
    return jsonify(build_openapi(settings.public_base_url))
