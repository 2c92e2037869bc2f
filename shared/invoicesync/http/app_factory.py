"""The base of every Flask service: JSON errors, /healthz, /readyz and /metrics."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable

from flask import Blueprint, Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from invoicesync.errors import InvalidInput, RateLimited, Transient
from invoicesync.settings import Settings

log = logging.getLogger(__name__)

# Raises when the dependency is not ready; what it returns (redis ping: True) is ignored.
ReadinessCheck = Callable[[], object]


def create_service_app(
    name: str,
    settings: Settings,
    blueprints: Iterable[Blueprint],
    readiness_checks: Iterable[ReadinessCheck] = (),
) -> Flask:
    app = Flask(name)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.hook_body_limit_bytes
    if isinstance(app.json, DefaultJSONProvider):  # always, unless a subclass swaps it
        app.json.sort_keys = False
    checks = list(readiness_checks)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service=name)

    @app.get("/readyz")
    def readyz():
        failures = {}
        for check in checks:
            try:
                check()
            except Exception as exc:  # noqa: BLE001 - readiness reports every failing dependency
                failures[check.__name__] = str(exc)
        if failures:
            return jsonify(status="unavailable", failures=failures), 503
        return jsonify(status="ready", service=name)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_json_errors(app)
    return app


def error_body(status: int, message: str, field: str | None = None, **extra) -> tuple:
    body = {"error": {"status": status, "message": message}}
    if field:
        body["error"]["field"] = field
    body["error"].update(extra)
    return jsonify(body), status


def register_json_errors(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        first_field = next(iter(messages), None)
        log.info("rejected input", extra={"path": request.path, "fields": list(messages)})
        return error_body(400, "invalid input", field=first_field, fields=messages)

    @app.errorhandler(InvalidInput)
    def _invalid(exc: InvalidInput):
        log.info("rejected input", extra={"path": request.path, "error": str(exc)})
        return error_body(400, str(exc), field=exc.field)

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited):
        log.info("over a share", extra={"path": request.path, "tenant_id": exc.tenant_id})
        body, status = error_body(429, "too many requests, retry later")
        return body, status, {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}

    @app.errorhandler(Transient)
    def _transient(exc: Transient):
        log.warning("dependency unavailable", extra={"path": request.path, "error": str(exc)})
        return error_body(503, "temporarily unavailable, retry later")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return error_body(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        return error_body(500, "internal error")
