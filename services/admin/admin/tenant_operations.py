"""What an operator or tenant can do, once: the admin routes and the CLI both call these."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from admin.admin_services import PROVIDERS, AdminServices
from admin.ledger_poll_budget import ledger_poll_budget
from admin.redis_memory import redis_memory
from admin.reference_data import reference_errors
from admin.stores.activity import FailedObject
from admin.stores.api_keys import ApiKey, IssuedKey, Role
from admin.stores.pending_connections import Organisation, PendingConnection
from invoicesync.clients.oauth import OAuthRejected, TokenResponse
from invoicesync.domain.canonical import Destination
from invoicesync.domain.connection_health import ConnectionHealth, connection_health
from invoicesync.domain.tenant_settings import StartPoint, TenantSettings
from invoicesync.errors import InvalidInput, Transient
from invoicesync.events import (
    Envelope,
    EventType,
    KeapNotification,
    NotificationSource,
    Topic,
    envelope_for,
)
from invoicesync.hook_subscriptions import ensure_hook_subscriptions, keap_hook_url
from invoicesync.kafka.publisher import Outgoing
from invoicesync.stores.backfill_jobs import BackfillJob
from invoicesync.stores.connection_health import (
    ConnectionHealthReader,
    health_json,
    health_policy_from_settings,
)
from invoicesync.stores.connection_owners import ConnectionOwners
from invoicesync.stores.held_notifications import release_held
from invoicesync.stores.paused_work import PausedWorkBoard
from invoicesync.stores.tenants import Tenant
from invoicesync.stores.tokens import ProviderConnection

log = logging.getLogger(__name__)

# Ledger organisations route webhooks to one tenant: `provider:external_id → tenant`.
LEDGER_PROVIDERS = ("xero", "qbo")


class TenantNotFound(Exception):
    """No tenant has this id."""


class ProcessingRefused(Exception):
    """Processing cannot be switched on yet; `missing` says what is needed first."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("processing cannot be switched on: " + "; ".join(missing))
        self.missing = missing


class OrganisationTaken(Exception):
    """The Xero organisation is already bound to another tenant: an operator must confirm."""

    def __init__(self, tenant_id: str, organisation: Organisation) -> None:
        # The other tenant is named in the log, not here: the callback answers a browser.
        super().__init__(
            f"the Xero organisation {organisation.name or organisation.organisation_id} is "
            "already connected to another tenant; an operator may bind it to this tenant too "
            "by choosing it with confirm=true"
        )
        self.tenant_id = tenant_id
        self.organisation = organisation


class CompanyTaken(Exception):
    """The QuickBooks company is connected to another tenant: one company, one tenant."""

    def __init__(self, organisation: Organisation) -> None:
        super().__init__(
            f"the QuickBooks company {organisation.name or organisation.organisation_id} is "
            "already connected to another tenant; disconnect it there before connecting it here"
        )
        self.organisation = organisation


class NoPendingConnection(Exception):
    """No consent is waiting for a confirmation for this tenant (none, or it expired)."""


class KeyNotFound(Exception):
    """No API key with this id belongs to the tenant."""


class NotStarter(Exception):
    """Someone other than the key that started connecting tried to confirm it."""


def hook_url(services: AdminServices, tenant: Tenant) -> str:
    return keap_hook_url(services.settings.hooks_base_url, tenant.hook_token)


def require_tenant(services: AdminServices, tenant_id: str) -> Tenant:
    tenant = services.tenants.get(tenant_id)
    if tenant is None:
        raise TenantNotFound(tenant_id)
    return tenant


def create_tenant(
    services: AdminServices, name: str, destination: Destination
) -> tuple[Tenant, IssuedKey]:
    """A new tenant and its own API key (the key is shown this once)."""
    tenant = services.tenants.create(name, destination)
    key = services.api_keys.issue(Role.TENANT, tenant.id, label=f"tenant {name}")
    log.info("tenant created", extra={"tenant_id": tenant.id, "destination": destination.value})
    return tenant, key


# Whatever arrived while processing was off was held, not dropped: switching processing on
# (by the switch or by saved settings) sends it through.


def processing_blockers(services: AdminServices, tenant: Tenant) -> list[str]:
    missing = []
    if not tenant.settings_saved:
        missing.append("settings must be saved first")
    for provider in ("keap", tenant.destination.value):
        connection = services.tokens.load(provider, tenant.id)
        if connection is None or connection.status != "connected":
            missing.append(f"{provider} must be connected")
    return missing


def save_settings(
    services: AdminServices, tenant_id: str, settings: TenantSettings
) -> TenantSettings:
    """Validate against the tenant's own ledger where it is connected, then save. Switching
    processing on is refused until settings were saved before and both sides are connected."""
    tenant = require_tenant(services, tenant_id)
    if settings.destination is not tenant.destination:
        raise InvalidInput(
            f"the tenant's destination is {tenant.destination.value}; it is chosen once",
            field="destination",
        )
    reference = services.reference_data(tenant.id, tenant.destination)
    if reference is not None:
        errors = reference_errors(settings, reference)
        if errors:
            field = next(iter(errors))
            raise InvalidInput(f"{field}: {errors[field][0]}", field=field)
    switched_on = settings.sync.processing_enabled and not services.tenants.processing_enabled(
        tenant.id
    )
    if switched_on:
        missing = processing_blockers(services, tenant)
        if missing:
            raise ProcessingRefused(missing)
    services.tenants.save_settings(tenant.id, settings)
    if switched_on:
        release_held(services.redis, services.publisher, tenant.id)
    return settings


def set_processing(services: AdminServices, tenant_id: str, enabled: bool) -> TenantSettings:
    tenant = require_tenant(services, tenant_id)
    if enabled:
        missing = processing_blockers(services, tenant)
        if missing:
            raise ProcessingRefused(missing)
    saved = services.tenants.set_processing(tenant.id, enabled)
    if enabled:
        release_held(services.redis, services.publisher, tenant.id)
    return saved


@dataclass(frozen=True)
class ConsentStart:
    """Where to send the browser, and the secret its cookie must carry back to the callback."""

    url: str
    browser_secret: str


def connect_url(
    services: AdminServices, tenant_id: str, provider: str, started_by: str
) -> ConsentStart:
    """The provider's authorize URL, carrying a single-use state bound to tenant, provider,
    the starting key (`started_by`, its id) and the browser that will hold `browser_secret`."""
    tenant = require_tenant(services, tenant_id)
    if provider not in ("keap", tenant.destination.value):
        raise InvalidInput(
            f"this tenant connects keap and {tenant.destination.value}", field="provider"
        )
    issued = services.oauth_state.issue(tenant.id, provider, started_by)
    url = services.oauth_client(provider).authorize_url(
        issued.state, services.redirect_uri(provider)
    )
    return ConsentStart(url, issued.browser_secret)


def complete_connection(
    services: AdminServices,
    provider: str,
    *,
    code: str,
    state: str,
    browser_secret: str,
    realm_id: str | None = None,
    scope: str | None = None,
) -> PendingConnection:
    """The OAuth callback: check the state and the browser, exchange the code, find what the
    consent connected (Xero: the organisations of this consent; QBO: the company, verified
    with the new token) and park it until the starting key confirms (`confirm_connection`).
    Nothing is saved as a connection here."""
    if provider not in PROVIDERS:
        raise InvalidInput(f"unknown provider {provider!r}", field="provider")
    if provider == "qbo" and not realm_id:
        raise InvalidInput("QuickBooks sends realmId with the code", field="realmId")
    start = services.oauth_state.consume(state, provider, browser_secret)
    client = services.oauth_client(provider)
    tokens = client.exchange_code(code, services.redirect_uri(provider))
    if provider == "xero":
        organisations = _xero_consent_organisations(services, tokens)
    elif provider == "qbo":
        organisations = (_verified_qbo_company(services, tokens, realm_id or ""),)
    else:
        # Keap's callback scope reads "full|<app>.infusionsoft.com".
        app_name = (scope or "").partition("|")[2]
        organisations = (Organisation(app_name.split(".", 1)[0], app_name),)
    pending = PendingConnection(start.tenant_id, provider, tokens, organisations, start.started_by)
    if len(organisations) == 1 and provider in LEDGER_PROVIDERS:
        # Said now rather than after the confirmation; checked again when binding.
        _refuse_if_taken(services, pending, organisations[0], confirmed=False)
    services.pending_connections.park(pending)
    log.info(
        "consent awaits confirmation", extra={"tenant_id": start.tenant_id, "provider": provider}
    )
    return pending


def _xero_consent_organisations(
    services: AdminServices, tokens: TokenResponse
) -> tuple[Organisation, ...]:
    rows = services.oauth_client("xero").xero_consented_connections(tokens.access_token)
    organisations = tuple(
        Organisation(str(row["tenantId"]), str(row.get("tenantName", ""))) for row in rows
    )
    if not organisations:
        raise InvalidInput("the Xero consent named no organisation", field="code")
    return organisations


def _verified_qbo_company(
    services: AdminServices, tokens: TokenResponse, realm_id: str
) -> Organisation:
    """The callback's realmId is a URL parameter anyone can change: ask the company itself."""
    try:
        info = services.oauth_client("qbo").qbo_company_info(tokens.access_token, realm_id)
    except OAuthRejected as exc:
        log.warning("qbo realm not confirmed by its token", extra={"status": exc.status})
        raise InvalidInput(
            f"the QuickBooks consent does not give access to company {realm_id}",
            field="realmId",
        ) from exc
    return Organisation(realm_id, str(info.get("CompanyName", "")))


def pending_organisations(
    services: AdminServices, tenant_id: str, provider: str = "xero"
) -> PendingConnection:
    tenant = require_tenant(services, tenant_id)
    pending = services.pending_connections.load(tenant.id, provider)
    if pending is None:
        raise NoPendingConnection(f"no {provider} consent is waiting for tenant {tenant.id}")
    return pending


def confirm_connection(
    services: AdminServices,
    tenant_id: str,
    provider: str,
    *,
    confirmed_by: str,
    organisation_id: str | None = None,
    confirmed: bool = False,
) -> ProviderConnection:
    """Bind a parked consent, on the word of the key that started it (`confirmed_by`, its id).
    `organisation_id` picks one when the consent connected several; `confirmed` (operators
    only) binds a Xero organisation that another tenant has already."""
    pending = pending_organisations(services, tenant_id, provider)
    if not hmac.compare_digest(pending.started_by, confirmed_by):
        raise NotStarter("only the key (or console sign-in) that started connecting may confirm it")
    if organisation_id is None and len(pending.organisations) == 1:
        organisation: Organisation | None = pending.organisations[0]
    else:
        organisation = pending.organisation(organisation_id or "")
    if organisation is None:
        raise InvalidInput(
            "this consent did not connect that organisation", field="organisation_id"
        )
    if provider in LEDGER_PROVIDERS:
        _refuse_if_taken(services, pending, organisation, confirmed=confirmed)
    services.pending_connections.discard(pending.tenant_id, provider)
    previous = services.tokens.load(provider, pending.tenant_id)
    connection = _save_connection(
        services,
        provider,
        pending.tenant_id,
        pending.tokens,
        organisation.organisation_id,
        organisation.name,
    )
    if provider in LEDGER_PROVIDERS:
        owners = ConnectionOwners(services.redis)
        # An operator-confirmed second tenant of a Xero organisation does not take it over.
        owners.claim(provider, organisation.organisation_id, pending.tenant_id)
        if previous is not None and previous.external_id != organisation.organisation_id:
            owners.release(provider, previous.external_id, pending.tenant_id)
    return connection


def _refuse_if_taken(
    services: AdminServices,
    pending: PendingConnection,
    organisation: Organisation,
    *,
    confirmed: bool,
) -> None:
    owners = ConnectionOwners(services.redis)
    other = owners.owner(pending.provider, organisation.organisation_id)
    if other is None:
        owners.claim_existing(pending.provider, services.tenants.ids())
        other = owners.owner(pending.provider, organisation.organisation_id)
    if other is None or other == pending.tenant_id:
        return
    log.warning(
        "ledger organisation already bound to another tenant",
        extra={
            "tenant_id": pending.tenant_id,
            "provider": pending.provider,
            "other_tenant_id": other,
            "confirmed": confirmed,
        },
    )
    if pending.provider == "qbo":
        services.pending_connections.discard(pending.tenant_id, "qbo")
        raise CompanyTaken(organisation)
    if not confirmed:
        services.pending_connections.park(pending)
        raise OrganisationTaken(pending.tenant_id, organisation)


def _save_connection(
    services: AdminServices,
    provider: str,
    tenant_id: str,
    tokens: TokenResponse,
    external_id: str,
    external_name: str,
) -> ProviderConnection:
    now = datetime.now(UTC)
    refresh_in = tokens.x_refresh_token_expires_in
    connection = ProviderConnection(
        provider=provider,
        tenant_id=tenant_id,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        access_expires_at=now + timedelta(seconds=tokens.expires_in),
        refresh_expires_at=now + timedelta(seconds=refresh_in) if refresh_in else None,
        external_id=external_id,
        external_name=external_name,
        connected_at=now,
    )
    previous = services.tokens.load(provider, tenant_id)
    # Under the refresh lock: a refresh that was spending the old pair cannot save over these.
    services.access_tokens.save_connection(connection)
    log.info("provider connected", extra={"tenant_id": tenant_id, "provider": provider})
    if provider == "keap":
        _subscribe_to_keap_hooks(services, tenant_id)
    if previous is not None and previous.status == "disconnected":
        _redrive_the_gap(services, tenant_id, provider, previous.disconnected_at)
    return connection


def _redrive_the_gap(
    services: AdminServices, tenant_id: str, provider: str, lost_at: datetime | None
) -> None:
    """A lost connection is back: what failed while it was lost goes through again (all that
    failed last, when the moment it was lost is not known)."""
    since = lost_at - RECONNECT_LOOK_BACK if lost_at is not None else None
    try:
        count = retry_failed(services, tenant_id, since=since, event_key=RECONNECT_EVENT_KEY)
    except Transient as exc:
        # The connection is saved; what failed stays listed for "retry failed".
        log.warning(
            "reconnected, but the failures were not driven again",
            extra={"tenant_id": tenant_id, "provider": provider, "error": str(exc)},
        )
        return
    log.info(
        "reconnected: failures driven again",
        extra={"tenant_id": tenant_id, "provider": provider, "count": count},
    )


def rotate_hook_token(services: AdminServices, tenant_id: str) -> Tenant:
    """A new hook URL for the tenant; the old one is refused from now on. Keap's subscriptions
    move to the new URL when Keap is connected (else the poller's hourly check makes them)."""
    tenant = require_tenant(services, tenant_id)
    old_token, rotated = services.tenants.rotate_hook_token(tenant.id)
    log.info("hook token rotated", extra={"tenant_id": tenant.id})
    keap = services.tokens.load("keap", tenant.id)
    if keap is not None and keap.status == "connected":
        _subscribe_to_keap_hooks(services, tenant.id, retired_hook_token=old_token)
    return rotated


def tenant_api_keys(services: AdminServices, tenant_id: str) -> list[ApiKey]:
    return services.api_keys.for_tenant(require_tenant(services, tenant_id).id)


def issue_api_key(services: AdminServices, tenant_id: str, label: str) -> IssuedKey:
    tenant = require_tenant(services, tenant_id)
    issued = services.api_keys.issue(Role.TENANT, tenant.id, label=label)
    log.info("api key issued", extra={"tenant_id": tenant.id, "key_id": issued.api_key.key_id})
    return issued


def rotate_api_key(services: AdminServices, tenant_id: str, key_id: str) -> IssuedKey:
    """A new key in place of `key_id`, which stops working at once."""
    _tenant_key(services, tenant_id, key_id)
    issued = services.api_keys.rotate(key_id)
    if issued is None:
        raise KeyNotFound(key_id)
    log.info(
        "api key rotated",
        extra={"tenant_id": tenant_id, "key_id": key_id, "new_key_id": issued.api_key.key_id},
    )
    return issued


def revoke_api_key(services: AdminServices, tenant_id: str, key_id: str) -> None:
    _tenant_key(services, tenant_id, key_id)
    services.api_keys.revoke(key_id)
    log.info("api key revoked", extra={"tenant_id": tenant_id, "key_id": key_id})


def _tenant_key(services: AdminServices, tenant_id: str, key_id: str) -> ApiKey:
    tenant = require_tenant(services, tenant_id)
    key = services.api_keys.get(key_id)
    if key is None or key.tenant_id != tenant.id:
        raise KeyNotFound(key_id)
    return key


def _subscribe_to_keap_hooks(
    services: AdminServices, tenant_id: str, *, retired_hook_token: str | None = None
) -> None:
    """Keap's REST hooks drive the sync; the poller's hourly check retries what fails here."""
    try:
        check = ensure_hook_subscriptions(
            tenant_id,
            settings=services.settings,
            client=services.redis,
            retired_hook_token=retired_hook_token,
        )
    except (Transient, InvalidInput) as exc:
        log.warning("keap hooks not ready", extra={"tenant_id": tenant_id, "error": str(exc)})
        return
    if not check.all_verified:
        log.warning(
            "keap hooks not verified yet",
            extra={"tenant_id": tenant_id, "unverified": list(check.unverified)},
        )


def request_invoice_sync(services: AdminServices, tenant_id: str, invoice_id: str) -> str:
    """Sync ID: one invoice on demand. Returns the notification's event id once Kafka has it."""
    tenant = require_tenant(services, tenant_id)
    notification = KeapNotification(
        object_type="invoice",
        object_id=invoice_id,
        source=NotificationSource.MANUAL,
        observed_at=datetime.now(UTC),
        event_key="manual.sync",
    )
    envelope = envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant.id, notification)
    services.publisher.publish(Topic.KEAP_NOTIFICATIONS, envelope)
    return envelope.event_id


RETRY_EVENT_KEY = "manual.retry_failed"
RECONNECT_EVENT_KEY = "manual.reconnected"
# A failure is recorded just after the connection is marked lost (the writer learns of it while
# writing): the look-back for a reconnection starts a little before that mark.
RECONNECT_LOOK_BACK = timedelta(minutes=5)
_RETRY_BATCH = 500


def retry_failed(
    services: AdminServices,
    tenant_id: str,
    *,
    since: datetime | None = None,
    event_key: str = RETRY_EVENT_KEY,
) -> int:
    """Drive every invoice, payment or order whose latest outcome is a failure (recorded since
    `since`, if given) through the pipeline again, as Sync ID does. Returns how many."""
    tenant = require_tenant(services, tenant_id)
    failed = services.activity.failing(tenant.id, since=since)
    for start in range(0, len(failed), _RETRY_BATCH):
        batch = failed[start : start + _RETRY_BATCH]
        services.publisher.publish_all(
            [
                Outgoing(Topic.KEAP_NOTIFICATIONS, _redrive(tenant.id, item, event_key))
                for item in batch
            ]
        )
        # Published: the new attempt's outcome decides from here (a new failure lists it again).
        services.activity.forget_failures(tenant.id, batch)
    if failed:
        log.info(
            "failed objects driven again",
            extra={"tenant_id": tenant.id, "count": len(failed), "why": event_key},
        )
    return len(failed)


def redrive_objects(
    services: AdminServices,
    tenant_id: str,
    objects: Sequence[tuple[str, str]],
    event_key: str,
) -> int:
    """Drive Keap objects (`(object_type, keap_id)`: order, invoice or payment) through the
    pipeline again, as Sync ID and retry-failed do. Returns how many were published."""
    tenant = require_tenant(services, tenant_id)
    for start in range(0, len(objects), _RETRY_BATCH):
        batch = objects[start : start + _RETRY_BATCH]
        services.publisher.publish_all(
            [
                Outgoing(
                    Topic.KEAP_NOTIFICATIONS,
                    _redrive(tenant.id, FailedObject(kind, keap_id, 0.0), event_key),
                )
                for kind, keap_id in batch
            ]
        )
    return len(objects)


def _redrive(tenant_id: str, failed: FailedObject, event_key: str) -> Envelope:
    notification = KeapNotification(
        object_type=failed.object_type,
        object_id=failed.keap_id,
        source=NotificationSource.MANUAL,
        observed_at=datetime.now(UTC),
        event_key=event_key,
    )
    return envelope_for(EventType.KEAP_CHANGE_NOTIFIED, tenant_id, notification)


def start_backfill(
    services: AdminServices, tenant_id: str, start: StartPoint | None
) -> tuple[BackfillJob, bool]:
    """Queue a backfill from `start` (the settings' start point when None). A tenant has one
    backfill at a time: while one is queued or running, that one is returned (False)."""
    tenant = require_tenant(services, tenant_id)
    start = start or services.tenants.settings(tenant.id).sync.start_point
    return services.backfill_jobs.start(tenant.id, start)


def backfill_progress(services: AdminServices, tenant_id: str) -> BackfillJob | None:
    return services.backfill_jobs.current(require_tenant(services, tenant_id).id)


def tenant_status(services: AdminServices, tenant_id: str) -> dict[str, Any]:
    tenant = require_tenant(services, tenant_id)
    connections, health = {}, {}
    for provider in ("keap", tenant.destination.value):
        connection = services.tokens.load(provider, tenant.id)
        connections[provider] = connection_summary(connection)
        health[provider] = health_json(
            connection_health_of(services, provider, tenant.id, connection)
        )
    last_poll = services.tenants.last_poll(tenant.id)
    try:
        lag: dict[str, Any] | None = services.consumer_lag.lag(tenant.id)
    except Transient as exc:
        log.warning("consumer lag unavailable", extra={"error": str(exc)})
        lag = None
    try:
        memory: dict[str, Any] | None = redis_memory(
            services.redis, services.settings.redis_memory_warning_ratio
        )
    except Transient as exc:
        log.warning("Redis memory unavailable", extra={"error": str(exc)})
        memory = None
    job = services.backfill_jobs.current(tenant.id)
    paused = PausedWorkBoard(services.redis).for_tenant(tenant.id)
    return {
        "tenant_id": tenant.id,
        "processing_enabled": services.tenants.processing_enabled(tenant.id),
        "connections": connections,
        "connection_health": health,
        "last_poll": last_poll.isoformat() if last_poll else None,
        "consumer_lag": lag,
        "redis_memory": memory,
        "counts": services.activity.totals(tenant.id),
        "backfill": job.status.value if job else None,
        "ledger_poll": ledger_poll_budget(
            services.redis, tenant.id, services.settings.reverse_sync_poll_interval_seconds
        ),
        # Work waiting because a provider or the broker is unavailable; retried by itself.
        "paused": [pause.to_json() for pause in paused],
    }


def connection_health_of(
    services: AdminServices,
    provider: str,
    tenant_id: str,
    connection: ProviderConnection | None,
    now: datetime | None = None,
) -> ConnectionHealth:
    """The connection's state and the risks ahead of it (domain/connection_health.py)."""
    policy = health_policy_from_settings(services.settings)
    facts = ConnectionHealthReader(services.redis, services.tokens, policy).facts(
        provider, tenant_id, connection
    )
    return connection_health(facts, policy, now or datetime.now(UTC))


def connection_summary(connection: ProviderConnection | None) -> dict[str, Any]:
    if connection is None:
        return {"status": "not_connected"}
    return {
        "status": connection.status,
        "external_id": connection.external_id,
        "external_name": connection.external_name,
        "connected_at": connection.connected_at.isoformat(),
        "access_expires_at": connection.access_expires_at.isoformat(),
        "refresh_expires_at": (
            connection.refresh_expires_at.isoformat() if connection.refresh_expires_at else None
        ),
        "disconnected_reason": connection.disconnected_reason,
    }
