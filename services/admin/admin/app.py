"""The admin HTTP API (port 8080): tenants, settings, OAuth, Sync ID, backfill, activity, replay.

gunicorn: `admin.app:create_app()`.
"""

from __future__ import annotations

from flask import Flask, request
from marshmallow import ValidationError

from admin.admin_services import AdminServices
from admin.api.activity_routes import activity_routes
from admin.api.connect_routes import connect_routes
from admin.api.context import EXTENSION, Forbidden, Unauthorised, authenticate
from admin.api.credential_routes import credential_routes
from admin.api.openapi import openapi_routes
from admin.api.reconciliation_routes import ReportNotFound, reconciliation_routes
from admin.api.replay_routes import replay_routes
from admin.api.sync_routes import sync_routes
from admin.api.tenant_routes import tenant_routes
from admin.console import console_routes
from admin.tenant_operations import (
    CompanyTaken,
    KeyNotFound,
    NoPendingConnection,
    OrganisationTaken,
    ProcessingRefused,
    TenantNotFound,
)
from invoicesync.http.app_factory import create_service_app, error_body
from invoicesync.logging import configure_logging
from invoicesync.settings import Settings

PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/oauth/")


def create_app(settings: Settings | None = None, services: AdminServices | None = None) -> Flask:
    if settings is None:
        settings = services.settings if services else Settings.from_env()
        configure_logging("admin", settings.log_level)
    services = services or AdminServices.from_settings(settings)
    app = create_service_app(
        "admin",
        settings,
        [
            openapi_routes,
            tenant_routes,
            connect_routes,
            credential_routes,
            sync_routes,
            activity_routes,
            replay_routes,
            reconciliation_routes,
            console_routes,
        ],
        readiness_checks=[services.redis.ping, services.publisher.check_ready],
    )
    app.extensions[EXTENSION] = services

    @app.before_request
    def _authenticate() -> None:
        if request.path.startswith("/api/") and not request.path.startswith(PUBLIC_PATHS):
            authenticate()

    _register_admin_errors(app)
    return app


def _register_admin_errors(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        messages = _flatten(exc.messages)
        return error_body(400, "invalid input", field=next(iter(messages), None), fields=messages)

    @app.errorhandler(Unauthorised)
    def _unauthorised(exc: Unauthorised):
        response, status = error_body(401, str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, status

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden):
        return error_body(403, str(exc))

    @app.errorhandler(ReportNotFound)
    def _no_report(exc: ReportNotFound):
        return error_body(404, str(exc), field=exc.field)

    @app.errorhandler(TenantNotFound)
    def _not_found(exc: TenantNotFound):
        return error_body(404, "no such tenant", field="tenant_id")

    @app.errorhandler(OrganisationTaken)
    def _taken(exc: OrganisationTaken):
        return error_body(
            409,
            str(exc),
            field="organisation_id",
            organisation_id=exc.organisation.organisation_id,
            tenant_id=exc.tenant_id,
        )

    @app.errorhandler(KeyNotFound)
    def _no_key(exc: KeyNotFound):
        return error_body(404, "no such API key for this tenant", field="key_id")

    @app.errorhandler(CompanyTaken)
    def _company_taken(exc: CompanyTaken):
        return error_body(409, str(exc), field="realmId")

    @app.errorhandler(NoPendingConnection)
    def _no_pending(exc: NoPendingConnection):
        return error_body(404, str(exc))

    @app.errorhandler(ProcessingRefused)
    def _refused(exc: ProcessingRefused):
        return error_body(409, str(exc), field="processing_enabled", missing=exc.missing)


def _flatten(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """{"xero": {"bogus": [...]}} → {"xero.bogus": [...]}: the error names the exact field."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key) if key != "_schema" or not prefix else ""
            flat |= _flatten(value, f"{prefix}.{name}".strip(".") if name else prefix)
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or "body": list(messages)}
    return {prefix or "body": [str(messages)]}
