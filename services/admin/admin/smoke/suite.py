"""Which checks a `smoke` run makes for a provider, with the project's own clients built from
the settings (real providers unless the settings point elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from admin.smoke.keap_checks import keap_checks
from admin.smoke.qbo_checks import qbo_checks
from admin.smoke.results import CheckResult
from admin.smoke.sandbox_writes import qbo_write_checks, xero_write_checks
from admin.smoke.xero_checks import xero_checks
from invoicesync.clients.keap import keap_client_from_settings
from invoicesync.clients.qbo import qbo_client_from_settings
from invoicesync.clients.xero import xero_client_from_settings
from invoicesync.crypto import TokenCipher
from invoicesync.settings import Settings
from invoicesync.stores.tokens import TokenStore

PROVIDERS = ("keap", "xero", "qbo")
WRITABLE = ("xero", "qbo")


class SmokeNotRunnable(Exception):
    """The run was asked for something it cannot do: no connection, or --write on Keap."""


def run_smoke_checks(
    settings: Settings,
    client: redis.Redis,
    provider: str,
    tenant_id: str,
    *,
    write: bool = False,
    now: datetime | None = None,
) -> list[CheckResult]:
    """The provider's read-only checks, then (with `write`) its create-and-void steps."""
    tokens = TokenStore(client, TokenCipher(settings.token_encryption_key))
    connection = tokens.load(provider, tenant_id)
    if connection is None or connection.status != "connected":
        raise SmokeNotRunnable(f"tenant {tenant_id} has no working {provider} connection")
    if write and provider not in WRITABLE:
        raise SmokeNotRunnable(f"--write creates invoices in {' or '.join(WRITABLE)} only")
    moment = now or datetime.now(UTC)
    if provider == "keap":
        return keap_checks(keap_client_from_settings(settings, client), tenant_id, now=moment)
    if provider == "xero":
        xero = xero_client_from_settings(settings, client)
        results = xero_checks(xero, tokens, tenant_id)
        return results + (xero_write_checks(xero, tenant_id, moment) if write else [])
    if provider == "qbo":
        qbo = qbo_client_from_settings(settings, client)
        results = qbo_checks(qbo, tenant_id)
        return results + (qbo_write_checks(qbo, tenant_id, moment) if write else [])
    raise SmokeNotRunnable(f"unknown provider {provider!r}")
