"""Xero and QBO webhooks (port 8082): signature first, then publish, then a fast empty 200.

gunicorn: `reverse_sync.webhook_app:create_app()`. A body whose signature does not match the
configured key gets 401 before a byte of it is parsed (Xero's intent-to-receive expects exactly
that); a signed body's events that may mean a payment changed are published to
`ledger.notifications` and the worker does the rest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, request

from invoicesync.errors import InvalidInput
from invoicesync.events import EventType, Topic, envelope_for
from invoicesync.http.app_factory import create_service_app
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.logging import configure_logging
from invoicesync.settings import Settings
from invoicesync.stores.ledger_watch import LedgerWatch
from invoicesync.stores.redis_connection import redis_from_settings
from reverse_sync.connected_tenants import ConnectedTenants
from reverse_sync.payment_signals import may_signal_payment
from reverse_sync.webhook_payloads import (
    AddressedNotification,
    qbo_notifications,
    xero_notifications,
)
from reverse_sync.webhook_signatures import (
    INTUIT_SIGNATURE_HEADER,
    XERO_SIGNATURE_HEADER,
    signature_matches,
)

log = logging.getLogger(__name__)

# Xero wants an answer within 5 s, Intuit within 3 s: give up on Kafka before that (they retry).
PUBLISH_TIMEOUT_SECONDS = 2.5
_REDIS = "invoicesync.redis"
_PUBLISHER = "invoicesync.publisher"

webhook_routes = Blueprint("ledger_webhooks", __name__)

Reader = Callable[[Any, datetime], list[AddressedNotification]]


@webhook_routes.post("/webhooks/xero")
def xero_webhook() -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    return _receive("xero", settings.xero_webhook_key, XERO_SIGNATURE_HEADER, xero_notifications)


@webhook_routes.post("/webhooks/qbo")
def qbo_webhook() -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    return _receive(
        "qbo", settings.qbo_webhook_verifier_token, INTUIT_SIGNATURE_HEADER, qbo_notifications
    )


def _receive(provider: str, key: str, header: str, read: Reader):
    body = request.get_data(cache=False)
    watch = LedgerWatch(current_app.extensions[_REDIS])
    if not signature_matches(key, body, request.headers.get(header)):
        if header in request.headers:
            watch.webhook_refused(provider, datetime.now(UTC))
        log.warning(
            "webhook signature rejected",
            extra={
                "provider": provider,
                "signed": header in request.headers,
                "remote_addr": request.remote_addr,
                "bytes": len(body),
            },
        )
        # Xero: "respond with a 401 Unauthorized" and an empty body (its intent-to-receive
        # check judges both); Intuit reads only the status. The log line carries the reason.
        return Response(status=401)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("the body is not JSON") from exc
    received_at = datetime.now(UTC)
    addressed = read(document, received_at)
    # Connections shows this as the webhook's verified state: Xero's intent-to-receive check
    # is a signed body with no events; Intuit has no such check, so any signed delivery.
    watch.webhook_signed(provider, received_at, intent_check=not addressed)
    signals = [item for item in addressed if may_signal_payment(item.notification)]
    outgoing, unknown = _addressed_to_tenants(provider, signals)
    publisher: Publisher = current_app.extensions[_PUBLISHER]
    publisher.publish_all(outgoing)
    log.info(
        "ledger webhook accepted",
        extra={
            "provider": provider,
            "events": len(addressed),
            "published": len(outgoing),
            "unknown": len(unknown),
        },
    )
    if unknown:
        log.warning(
            "webhook events for organisations no tenant is connected to",
            extra={"provider": provider, "external_ids": sorted(unknown)},
        )
    return Response(status=200)  # Xero: an empty body, no cookies


def _addressed_to_tenants(
    provider: str, addressed: list[AddressedNotification]
) -> tuple[list[Outgoing], set[str]]:
    tenants = ConnectedTenants(current_app.extensions[_REDIS])
    outgoing: list[Outgoing] = []
    unknown: set[str] = set()
    found: dict[str, str | None] = {}
    for item in addressed:
        if item.external_id not in found:
            found[item.external_id] = tenants.tenant_for(provider, item.external_id)
        tenant_id = found[item.external_id]
        if tenant_id is None:
            unknown.add(item.external_id)
            continue
        envelope = envelope_for(EventType.LEDGER_CHANGE_NOTIFIED, tenant_id, item.notification)
        outgoing.append(Outgoing(Topic.LEDGER_NOTIFICATIONS, envelope))
    return outgoing, unknown


def create_app(
    settings: Settings | None = None,
    *,
    publish_timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS,
) -> Flask:
    if settings is None:
        settings = Settings.from_env()
        configure_logging("reverse-sync-webhooks", settings.log_level)
    client: redis.Redis = redis_from_settings(settings)
    publisher = Publisher(settings, timeout_seconds=publish_timeout_seconds)
    app = create_service_app(
        "reverse-sync-webhooks",
        settings,
        [webhook_routes],
        readiness_checks=[client.ping, publisher.check_ready],
    )
    app.extensions[_REDIS] = client
    app.extensions[_PUBLISHER] = publisher
    return app
