"""The one settings object: every knob read from the environment, with production defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot run with."""


@dataclass(frozen=True)
class ProviderEndpoints:
    """Where a provider lives. Production defaults; the sandbox is chosen by configuration."""

    api_base: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ()  # empty: the client's own default for the provider


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    # This service's Kafka user (SASL/SCRAM-SHA-512); empty connects without authenticating,
    # which only a broker with an open listener accepts (the project's brokers have none).
    kafka_username: str = ""
    kafka_password: str = field(default="", repr=False)
    # The password, if Redis asks for one, goes in the URL: redis://:<password>@host:port/db.
    redis_url: str = "redis://127.0.0.1:16379/0"
    # Put before every topic and consumer group name: deployments sharing a broker stay apart.
    topic_prefix: str = ""
    topic_partitions: int = 6
    token_encryption_key: str = ""
    public_base_url: str = "http://127.0.0.1:8080"
    hooks_base_url: str = "http://127.0.0.1:8081"
    webhooks_base_url: str = "http://127.0.0.1:8082"
    admin_port: int = 8080
    ingest_port: int = 8081
    reverse_sync_port: int = 8082
    log_level: str = "INFO"
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.5
    consumer_backoff_max_seconds: float = 30.0
    # How long a message whose provider, Redis or Kafka is unavailable keeps being retried
    # (its tenant paused meanwhile) before it is given up on as a dead letter.
    consumer_retry_budget_hours: float = 24.0
    # How many tenants transform and each ledger writer work for at once (threads waiting on
    # Keap or the ledger): those APIs answer in hundreds of milliseconds, and one tenant at a
    # time would hold a process to one provider round trip at a time.
    concurrent_tenants: int = 8
    # How long a provider call may take to answer before it is a timeout (retried as Transient).
    provider_read_timeout_seconds: float = 30.0
    poll_interval_seconds: int = 3600
    held_payment_recheck_seconds: int = 300
    poll_overlap_seconds: int = 300
    # ReverseSync's ledger poll: Xero announces no payment, so this interval is how late a
    # Xero payment can reach Keap (288 GET /Payments a day per tenant at 300 s, of Xero's 5,000).
    reverse_sync_poll_interval_seconds: int = 300
    poll_tick_seconds: float = 30.0
    poll_lease_seconds: float = 90.0
    backfill_page_size: int = 500
    backfill_lease_seconds: float = 120.0
    hook_body_limit_bytes: int = 1_048_576
    # Per-tenant shares (token buckets: a burst, then a steady rate), so one tenant cannot
    # starve the others. Keap: a share of the app's 1,500 calls/minute summed over every tenant
    # (reference/keap.md §6, "budget per tenant"): 480/min leaves room for everyone else.
    keap_tenant_burst: int = 300
    keap_tenant_calls_per_second: float = 8.0
    # Keap's limits for one OAuth client, summed over every tenant (reference/keap.md §6).
    # Raise them only when Keap has granted the app more: every replica counts against them.
    keap_app_calls_per_minute: int = 1_500
    keap_app_calls_per_day: int = 150_000
    # Keap's gateway spike arrest, about 25 a second per client and sometimes lower for bursts
    # (keap.md §6): kept to 20 in any second, so transform's workers never set it off.
    keap_app_calls_per_second: int = 20
    # Keap hook deliveries per tenant (Keap batches up to 1,000 ids a POST, one POST per event
    # key every 30-60 s); Sync ID requests and /status reads per tenant.
    hook_tenant_burst: int = 30
    hook_tenant_per_second: float = 0.5
    sync_id_tenant_burst: int = 30
    sync_id_tenant_per_second: float = 1.0
    status_tenant_burst: int = 60
    status_tenant_per_second: float = 2.0
    # Repeats of one hook id (same event key) within this window publish once, whatever
    # timestamp the caller sends; a later real change is also caught by the poll.
    hook_dedup_window_seconds: int = 60
    # Health and /status warn when Redis's used memory passes this share of its maxmemory.
    redis_memory_warning_ratio: float = 0.8
    keap_api_base: str = "https://api.infusionsoft.com/crm"
    keap_authorize_url: str = "https://accounts.infusionsoft.com/app/oauth/authorize"
    keap_token_url: str = "https://api.infusionsoft.com/token"
    keap_client_id: str = ""
    keap_client_secret: str = ""
    xero_api_base: str = "https://api.xero.com"
    xero_authorize_url: str = "https://login.xero.com/identity/connect/authorize"
    xero_token_url: str = "https://identity.xero.com/connect/token"
    xero_client_id: str = ""
    xero_client_secret: str = ""
    xero_webhook_key: str = ""
    # Space-separated. Xero apps created on or after 2 March 2026 may only ask for granular
    # scopes (broad accounting.transactions is refused with invalid_scope, and older apps lose
    # it in September 2027); openid/profile/email as the Xero reference lists them.
    xero_scopes: str = (
        "openid profile email offline_access accounting.invoices accounting.payments "
        "accounting.contacts accounting.settings.read"
    )
    # Refresh every connection whose tokens have not been refreshed for this many days: Xero
    # refresh tokens lapse after 60 days unused, so a quiet tenant must still be refreshed.
    connection_refresh_max_idle_days: int = 25
    connection_refresh_check_seconds: int = 3600
    # How long to wait for a token endpoint's answer; keep it under the refresh lock's 60 s.
    oauth_token_timeout_seconds: float = 30.0
    # Connection health: warn (console, /status, an email) this many days before a refresh
    # token lapses unused, and call a Keap hook check older than this many hours stale.
    connection_lapse_warning_days: int = 14
    hook_check_max_age_hours: int = 3
    # How often reverse-sync looks for connection risks to mail (an alert within about this).
    connection_health_check_seconds: int = 60
    qbo_api_base: str = "https://quickbooks.api.intuit.com"
    qbo_authorize_url: str = "https://appcenter.intuit.com/connect/oauth2"
    qbo_token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    qbo_client_id: str = ""
    qbo_client_secret: str = ""
    qbo_webhook_verifier_token: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    email_sender: str = "InvoiceSync <noreply@invoicesync.local>"
    # Signs the web console's session cookie; empty derives a development key per checkout.
    console_secret_key: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `INVOICESYNC_<FIELD>` (or the bare upper-case name for the infrastructure URLs)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}  # each parsed to its field's type
        for spec in fields(cls):
            raw = _lookup(environ, spec.name)
            if raw is None:
                continue
            values[spec.name] = _parse(spec.name, spec.type, raw)
        return cls(**values)

    def endpoints(self, provider: str) -> ProviderEndpoints:
        return ProviderEndpoints(
            api_base=getattr(self, f"{provider}_api_base").rstrip("/"),
            authorize_url=getattr(self, f"{provider}_authorize_url"),
            token_url=getattr(self, f"{provider}_token_url"),
            client_id=getattr(self, f"{provider}_client_id"),
            client_secret=getattr(self, f"{provider}_client_secret"),
            scopes=tuple(str(getattr(self, f"{provider}_scopes", "")).split()),
        )


# Conventional names the infrastructure tools and docker images already use.
_BARE_NAMES = {"kafka_bootstrap_servers", "redis_url"}


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    prefixed = environ.get(f"INVOICESYNC_{name.upper()}")
    if prefixed is not None:
        return prefixed
    if name in _BARE_NAMES:
        return environ.get(name.upper())
    return None


def _parse(name: str, type_name: object, raw: str) -> object:
    try:
        if type_name in ("int", int):
            return int(raw)
        if type_name in ("float", float):
            return float(raw)
        if type_name in ("bool", bool):
            lowered = raw.strip().lower()
            if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(raw)
            return lowered in {"1", "true", "yes", "on"}
    except ValueError as exc:
        raise SettingsError(f"{name}: cannot read {raw!r} as {type_name}") from exc
    return raw
