"""The Keap hook receiver (port 8081): handshake, validate, publish, answer once Kafka has it.

gunicorn: `ingest.hooks_app:create_app()`.
"""

from __future__ import annotations

import logging
import math

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from marshmallow import ValidationError

from ingest.hook_deliveries import HookDeliverySchema, first_error_field
from ingest.hook_receiver import HookReceiver, HookShare
from ingest.outage_recoveries import OutageRecoveries, OutageWatch
from invoicesync.errors import InvalidInput, RateLimited, Transient
from invoicesync.http.app_factory import create_service_app, error_body
from invoicesync.kafka.publisher import Publisher
from invoicesync.logging import configure_logging
from invoicesync.settings import Settings
from invoicesync.stores.limiter import Limiter, TokenBucket
from invoicesync.stores.redis_connection import redis_from_settings

log = logging.getLogger(__name__)

# Keap deactivates a subscriber that takes 30 s: give up on Kafka well before that.
PUBLISH_TIMEOUT_SECONDS = 8.0
# ...and on Redis too: a delivery makes a few Redis calls, each given up on quickly.
REDIS_TIMEOUT_SECONDS = 2.0
# Keap's next attempts come 30-60 s, 5 min and 30 min after a failure whatever we say; the
# header tells any other sender.
RETRY_AFTER_SECONDS = 60
_RECEIVER = "invoicesync.hook_receiver"
# One schema for every request: building it is a good part of a small hook's cost.
_DELIVERY_SCHEMA = HookDeliverySchema()
_SHARES = "invoicesync.hook_shares"

hook_routes = Blueprint("keap_hooks", __name__)


@hook_routes.post("/hooks/keap/<hook_token>")
def keap_hook(hook_token: str):
    receiver: HookReceiver = current_app.extensions[_RECEIVER]
    known = receiver.known_tenant(hook_token)
    if known is not None and request.headers.get("X-Hook-Secret") is None:
        # A token this worker has seen: its lookup rides along with the ids' de-duplication.
        delivery = _valid_delivery(request.get_json(silent=True))
        if delivery is not None:
            try:
                published = receiver.accept_for_token(
                    hook_token, known, delivery, current_app.extensions[_SHARES]
                )
            except RateLimited as exc:
                return _too_many(known, exc)
            except Transient as exc:
                return _unavailable(exc)
            if published is not None:
                return _accepted(known, delivery, published)
    try:
        tenant_id = receiver.tenant_for(hook_token)
    except Transient as exc:
        return _unavailable(exc)
    if tenant_id is None:
        return error_body(404, "unknown hook")
    secret = request.headers.get("X-Hook-Secret")
    if secret is not None:
        log.info("keap hook handshake", extra={"tenant_id": tenant_id})
        response = Response(status=200)
        response.headers["X-Hook-Secret"] = secret
        return response
    refused = _over_share(tenant_id)
    if refused is not None:
        return refused
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    try:
        delivery = _DELIVERY_SCHEMA.load(body)
    except ValidationError as exc:
        field = first_error_field(exc.messages)
        log.info("keap hook rejected", extra={"tenant_id": tenant_id, "field": field})
        return error_body(400, "invalid delivery", field=field, fields=exc.messages)
    try:
        published = receiver.accept(tenant_id, delivery)
    except Transient as exc:
        return _unavailable(exc)
    return _accepted(tenant_id, delivery, published)


def _valid_delivery(body: object) -> dict | None:
    """The delivery when the body is a valid one; None sends it the long way (and its 400)."""
    if not isinstance(body, dict):
        return None
    try:
        return _DELIVERY_SCHEMA.load(body)
    except ValidationError:
        return None


def _accepted(tenant_id: str, delivery: dict, published: int):
    log.info(
        "keap hook accepted",
        extra={
            "tenant_id": tenant_id,
            "event_key": delivery["event_key"],
            "ids": len(delivery["object_keys"]),
            "published": published,
        },
    )
    return jsonify(accepted=len(delivery["object_keys"]), published=published)


def _over_share(tenant_id: str):
    """A 429 when the tenant has used up its share of deliveries, else None."""
    share: HookShare = current_app.extensions[_SHARES]
    try:
        share.limiter.take(tenant_id, share.bucket)
    except RateLimited as exc:
        return _too_many(tenant_id, exc)
    except Transient:
        pass  # Redis away: deliveries are still taken (see hook_receiver), unmetered
    return None


def _too_many(tenant_id: str, exc: RateLimited):
    log.warning("keap hook over the tenant's share", extra={"tenant_id": tenant_id})
    retry_after = max(1, math.ceil(exc.retry_after))
    body, status = error_body(429, "too many hook deliveries for this tenant, retry later")
    return body, status, {"Retry-After": str(retry_after)}


def _unavailable(exc: Transient):
    """503, never 410 (which deactivates the hook at once): Keap tries again."""
    log.warning("keap hook refused for now", extra={"error": str(exc)})
    body, status = error_body(503, "temporarily unavailable, retry later")
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def create_app(
    settings: Settings | None = None,
    *,
    publish_timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS,
) -> Flask:
    if settings is None:
        settings = Settings.from_env()
        configure_logging("ingest", settings.log_level)
    client = redis_from_settings(settings, timeout_seconds=REDIS_TIMEOUT_SECONDS)
    publisher = Publisher(settings, timeout_seconds=publish_timeout_seconds)
    app = create_service_app(
        "ingest", settings, [hook_routes], readiness_checks=[client.ping, publisher.check_ready]
    )
    watch = OutageWatch(
        OutageRecoveries(client),
        probes=(client.ping, Publisher(settings, timeout_seconds=2).check_ready),
    )
    receiver = HookReceiver(
        client, publisher, watch, dedup_window_seconds=settings.hook_dedup_window_seconds
    )
    receiver.learn_hook_tokens()
    app.extensions[_RECEIVER] = receiver
    app.extensions[_SHARES] = HookShare(
        Limiter(client),
        TokenBucket("hooks", settings.hook_tenant_burst, settings.hook_tenant_per_second),
    )
    return app
