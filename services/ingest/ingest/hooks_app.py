"""The Keap hook receiver (port 8081): handshake, validate, publish, answer once Kafka has it.

gunicorn: `ingest.hooks_app:create_app()`.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from ingest.hook_deliveries import HookDeliverySchema, mark_seen, notices_for, unseen
from invoicesync.errors import InvalidInput
from invoicesync.events import Topic
from invoicesync.http.app_factory import create_service_app, error_body
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.logging import configure_logging
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore

log = logging.getLogger(__name__)

# Keap deactivates a subscriber that takes 30 s: give up on Kafka well before that.
PUBLISH_TIMEOUT_SECONDS = 8.0
_REDIS = "invoicesync.redis"
_PUBLISHER = "invoicesync.publisher"

hook_routes = Blueprint("keap_hooks", __name__)


@hook_routes.post("/hooks/keap/<hook_token>")
def keap_hook(hook_token: str):
    client: redis.Redis = current_app.extensions[_REDIS]
    tenant_id = TenantStore(client).tenant_for_hook_token(hook_token)
    if tenant_id is None:
        return error_body(404, "unknown hook")
    secret = request.headers.get("X-Hook-Secret")
    if secret is not None:
        log.info("keap hook handshake", extra={"tenant_id": tenant_id})
        response = Response(status=200)
        response.headers["X-Hook-Secret"] = secret
        return response
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    delivery = HookDeliverySchema().load(body)
    notices = unseen(client, notices_for(tenant_id, delivery))
    publisher: Publisher = current_app.extensions[_PUBLISHER]
    publisher.publish_all([Outgoing(Topic.KEAP_NOTIFICATIONS, n.envelope) for n in notices])
    mark_seen(client, notices)
    log.info(
        "keap hook accepted",
        extra={
            "tenant_id": tenant_id,
            "event_key": delivery["event_key"],
            "ids": len(delivery["object_keys"]),
            "published": len(notices),
        },
    )
    return jsonify(accepted=len(delivery["object_keys"]), published=len(notices))


def create_app(
    settings: Settings | None = None,
    *,
    publish_timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS,
) -> Flask:
    if settings is None:
        settings = Settings.from_env()
        configure_logging("ingest", settings.log_level)
    client = redis_from_settings(settings)
    publisher = Publisher(settings, timeout_seconds=publish_timeout_seconds)
    app = create_service_app(
        "ingest", settings, [hook_routes], readiness_checks=[client.ping, publisher.check_ready]
    )
    app.extensions[_REDIS] = client
    app.extensions[_PUBLISHER] = publisher
    return app
