"""The console's blueprint: session cookie settings, CSRF on every form, and HTML error pages."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

from flask import Blueprint, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as WerkzeugResponse

from admin.console.console_session import (
    ConsoleForbidden,
    SignInRequired,
    signed_in_key,
)
from admin.console.csrf import CsrfRefused, check_csrf, csrf_token
from admin.stores.api_keys import Role
from admin.tenant_operations import TenantNotFound
from invoicesync.errors import Transient
from invoicesync.settings import Settings, SettingsError

console_routes = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)


@console_routes.app_template_filter("quantity")
def quantity_words(value: object) -> str:
    """2 not 2.0, 1.5 not 1.5000: a quantity as people write it."""
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    if "." in text and text.replace(".", "", 1).lstrip("-").isdigit():
        text = text.rstrip("0").rstrip(".")
    return text


# The pages load only this site's script and styles, and no other site may frame them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def console_secret_key(settings: Settings) -> str:
    """INVOICESYNC_CONSOLE_SECRET_KEY, else one derived from the token encryption key (itself
    generated once and required): never anything a stranger could work out. Neither: refuse."""
    if settings.console_secret_key.strip():
        return settings.console_secret_key.strip()
    token_key = settings.token_encryption_key.split(",")[0].strip()
    if not token_key:
        raise SettingsError(
            "console_secret_key and token_encryption_key are both empty: set "
            "INVOICESYNC_CONSOLE_SECRET_KEY (or the token key it is derived from)"
        )
    return hmac.new(token_key.encode(), b"invoicesync console session", hashlib.sha256).hexdigest()


@console_routes.record_once
def _configure_session(state: BlueprintSetupState) -> None:
    settings: Settings = state.app.config["SETTINGS"]
    state.app.config.update(
        SECRET_KEY=console_secret_key(settings),
        SESSION_COOKIE_NAME="invoicesync_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
    )


@console_routes.before_request
def _refuse_forged_forms() -> None:
    check_csrf()


@console_routes.after_request
def _security_headers(response: WerkzeugResponse) -> WerkzeugResponse:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")  # for browsers without CSP 2
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@console_routes.context_processor
def _page_context() -> dict:
    key = signed_in_key()
    return {
        "csrf_token": csrf_token,
        "signed_in": key,
        "is_operator": key is not None and key.role is Role.OPERATOR,
    }


@console_routes.errorhandler(SignInRequired)
def _sign_in_first(_exc: SignInRequired):
    return redirect(url_for("console.sign_in_page", next=request.path))


@console_routes.errorhandler(ConsoleForbidden)
def _forbidden(exc: ConsoleForbidden):
    return render_template("console/problem.html", title="Not yours to see", message=str(exc)), 403


@console_routes.errorhandler(CsrfRefused)
def _forged(exc: CsrfRefused):
    message = f"{str(exc).capitalize()}. Go back, reload the page and try again."
    return render_template("console/problem.html", title="Form refused", message=message), 400


@console_routes.errorhandler(TenantNotFound)
def _no_tenant(_exc: TenantNotFound):
    message = "There is no business with this id."
    return render_template("console/problem.html", title="Not found", message=message), 404


@console_routes.errorhandler(Transient)
def _unavailable(_exc: Transient):
    message = "A service we depend on is not answering right now. Please try again in a minute."
    return render_template("console/problem.html", title="Try again", message=message), 503
