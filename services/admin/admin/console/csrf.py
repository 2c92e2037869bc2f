"""A CSRF token per session, required on every form the console accepts.

The forms are hand-written HTML, not WTForms, so a token kept in the signed session and
compared in constant time is all the protection they need, without a dependency."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """A state-changing request came without the session's token."""


def csrf_token() -> str:
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check_csrf() -> None:
    """Before every POST: the form field (or header, for scripts) must carry the token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(SESSION_KEY, "")
    presented = request.form.get(FORM_FIELD) or request.headers.get(HEADER, "")
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise CsrfRefused("the form has expired or did not come from this console")
