"""What an operator or tenant can do, once: the admin routes and the CLI both call these."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from admin.admin_services import PROVIDERS, AdminServices
from admin.consumer_lag import consumer_lag
from admin.reference_data import reference_errors
from admin.stores.activity import FailedObject
from admin.stores.api_keys import IssuedKey, Role
from admin.stores.pending_connections import Organisation, PendingConnection
from invoicesync.clients.oauth import TokenResponse
from invoicesync.domain.canonical import Destination
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
from invoicesync.stores.held_notifications import release_held
from invoicesync.stores.redis_connection import reply_text
from invoicesync.stores.tenants import Tenant
from invoicesync.stores.tokens import ProviderConnection, connection_key

log = logging.getLogger(__name__)


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


class NoPendingConnection(Exception):
    """No Xero consent is waiting for a choice for this tenant (none, or it expired)."""


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


def connect_url(services: AdminServices, tenant_id: str, provider: str) -> str:
    """The provider's authorize URL, carrying a single-use state bound to tenant and provider."""
    tenant = require_tenant(services, tenant_id)
    if provider not in ("keap", tenant.destination.value):
        raise InvalidInput(
            f"this tenant connects keap and {tenant.destination.value}", field="provider"
        )
    state = services.oauth_state.issue(tenant.id, provider)
    return services.oauth_client(provider).authorize_url(state, services.redirect_uri(provider))


def complete_connection(
    services: AdminServices,
    provider: str,
    *,
    code: str,
    state: str,
    realm_id: str | None = None,
    scope: str | None = None,
) -> ProviderConnection | PendingConnection:
    """The OAuth callback: check the state, exchange the code, store the tokens encrypted.
    A Xero consent that connected several organisations, or one another tenant already has,
    is parked instead (a PendingConnection, or OrganisationTaken) for `choose_organisation`."""
    if provider not in PROVIDERS:
        raise InvalidInput(f"unknown provider {provider!r}", field="provider")
    if provider == "qbo" and not realm_id:
        raise InvalidInput("QuickBooks sends realmId with the code", field="realmId")
    tenant_id = services.oauth_state.consume(state, provider)
    client = services.oauth_client(provider)
    tokens = client.exchange_code(code, services.redirect_uri(provider))
    if provider == "xero":
        return _bind_xero_consent(services, tenant_id, tokens)
    external_id, external_name = realm_id or "", ""
    if provider == "keap":
        # Keap's callback scope reads "full|<app>.infusionsoft.com".
        external_name = (scope or "").partition("|")[2]
        external_id = external_name.split(".", 1)[0]
    return _save_connection(services, provider, tenant_id, tokens, external_id, external_name)


def _bind_xero_consent(
    services: AdminServices, tenant_id: str, tokens: TokenResponse
) -> ProviderConnection | PendingConnection:
    rows = services.oauth_client("xero").xero_consented_connections(tokens.access_token)
    organisations = tuple(
        Organisation(str(row["tenantId"]), str(row.get("tenantName", ""))) for row in rows
    )
    if not organisations:
        raise InvalidInput("the Xero consent named no organisation", field="code")
    pending = PendingConnection(tenant_id, "xero", tokens, organisations)
    if len(organisations) > 1:
        services.pending_connections.park(pending)
        log.info("xero consent awaits a choice", extra={"tenant_id": tenant_id})
        return pending
    return _bind_organisation(services, pending, organisations[0], confirmed=False)


def pending_organisations(services: AdminServices, tenant_id: str) -> PendingConnection:
    tenant = require_tenant(services, tenant_id)
    pending = services.pending_connections.load(tenant.id, "xero")
    if pending is None:
        raise NoPendingConnection(f"no Xero consent is waiting for tenant {tenant.id}")
    return pending


def choose_organisation(
    services: AdminServices, tenant_id: str, organisation_id: str, *, confirmed: bool
) -> ProviderConnection:
    """Bind the organisation the user picked from a parked consent; `confirmed` (operators
    only) binds it even when another tenant has it already."""
    pending = pending_organisations(services, tenant_id)
    organisation = pending.organisation(organisation_id)
    if organisation is None:
        raise InvalidInput(
            "this consent did not connect that organisation", field="organisation_id"
        )
    return _bind_organisation(services, pending, organisation, confirmed=confirmed)


def _bind_organisation(
    services: AdminServices,
    pending: PendingConnection,
    organisation: Organisation,
    *,
    confirmed: bool,
) -> ProviderConnection:
    other = _tenant_bound_to(services, organisation.organisation_id, pending.tenant_id)
    if other is not None and not confirmed:
        services.pending_connections.park(pending)
        log.warning(
            "xero organisation already bound to another tenant",
            extra={"tenant_id": pending.tenant_id, "other_tenant_id": other},
        )
        raise OrganisationTaken(pending.tenant_id, organisation)
    if other is not None:
        log.warning(
            "xero organisation bound to a second tenant by an operator",
            extra={"tenant_id": pending.tenant_id, "other_tenant_id": other},
        )
    services.pending_connections.discard(pending.tenant_id, "xero")
    return _save_connection(
        services,
        "xero",
        pending.tenant_id,
        pending.tokens,
        organisation.organisation_id,
        organisation.name,
    )


def _tenant_bound_to(services: AdminServices, organisation_id: str, tenant_id: str) -> str | None:
    """Another tenant whose Xero connection names this organisation (connected or lost)."""
    for other in services.tenants.ids():
        if other == tenant_id:
            continue
        # One plain field: the other tenant's tokens stay encrypted and untouched.
        bound = services.redis.hget(connection_key("xero", other), "external_id")
        if bound is not None and reply_text(bound) == organisation_id:
            return other
    return None


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
    services.tokens.save(connection)
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


def _subscribe_to_keap_hooks(services: AdminServices, tenant_id: str) -> None:
    """Keap's REST hooks drive the sync; the poller's hourly check retries what fails here."""
    try:
        check = ensure_hook_subscriptions(
            tenant_id, settings=services.settings, client=services.redis
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
    connections = {}
    for provider in ("keap", tenant.destination.value):
        connection = services.tokens.load(provider, tenant.id)
        connections[provider] = connection_summary(connection)
    last_poll = services.tenants.last_poll(tenant.id)
    try:
        lag: dict[str, Any] | None = consumer_lag(services.settings)
    except Transient as exc:
        log.warning("consumer lag unavailable", extra={"error": str(exc)})
        lag = None
    job = services.backfill_jobs.current(tenant.id)
    return {
        "tenant_id": tenant.id,
        "processing_enabled": services.tenants.processing_enabled(tenant.id),
        "connections": connections,
        "last_poll": last_poll.isoformat() if last_poll else None,
        "consumer_lag": lag,
        "counts": services.activity.totals(tenant.id),
        "backfill": job.status.value if job else None,
    }


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
