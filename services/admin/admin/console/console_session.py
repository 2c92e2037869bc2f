"""Who is signed in to the console: the API key, kept encrypted in the session cookie and
checked with the API's own key store on every request, so a revoked key signs out at once;
and a server-side session id beside it, so signing out ends a copied cookie too."""

from __future__ import annotations

from flask import g, session

from admin.access import AccessGuard, Refusal
from admin.api.context import services
from admin.stores.api_keys import ApiKey
from admin.stores.console_sessions import ConsoleSessions
from invoicesync.crypto import cipher_from_settings
from invoicesync.errors import InvalidInput

SESSION_KEY = "api_key"
SESSION_ID = "session_id"


class SignInRequired(Exception):
    """No one is signed in (or the key stopped being valid)."""


class ConsoleForbidden(Exception):
    """Signed in, but this page belongs to another tenant or to operators."""


def sign_in(presented: str) -> ApiKey | None:
    """Remember a valid key in the session; None when the key is not a live one."""
    key = services().api_keys.authenticate(presented.strip())
    if key is None:
        return None
    sign_out()
    cipher = cipher_from_settings(services().settings)
    session[SESSION_KEY] = cipher.encrypt(presented.strip().encode()).decode()
    session[SESSION_ID] = _sessions().start(key.key_id)
    return key


def sign_out() -> None:
    _sessions().end(str(session.get(SESSION_ID, "")))
    session.clear()


def _sessions() -> ConsoleSessions:
    return ConsoleSessions(services().redis)


def signed_in_key() -> ApiKey | None:
    if "console_key" in g:
        return g.console_key
    key = None
    stored = session.get(SESSION_KEY)
    live = _sessions().key_id(str(session.get(SESSION_ID, ""))) if stored else None
    if stored and live is not None:
        try:
            secret = cipher_from_settings(services().settings).decrypt(stored.encode()).decode()
        except InvalidInput:
            secret = ""
        key = services().api_keys.authenticate(secret) if secret else None
        if key is not None and key.key_id != live:
            key = None
    g.console_key = key
    return key


def _console_refusal(refusal: Refusal) -> Exception:
    if refusal is Refusal.NO_KEY:
        return SignInRequired()
    if refusal is Refusal.OTHER_TENANT:
        return ConsoleForbidden("this page belongs to another business")
    return ConsoleForbidden("only an operator can open this page")


_console_access = AccessGuard(caller=signed_in_key, refuse=_console_refusal)
# Every page taking a <tenant_id> wears one of these (tests/integration/admin/test_access.py).
tenant_page_required = _console_access.tenant_required
operator_page_required = _console_access.operator_required
