"""The console's blueprint: session cookie settings, CSRF on every form, and HTML error pages."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from flask import Blueprint, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from admin.console.console_session import (
    ConsoleForbidden,
    SignInRequired,
    signed_in_key,
)
from admin.console.csrf import CsrfRefused, check_csrf, csrf_token
from admin.stores.api_keys import Role
from admin.tenant_operations import TenantNotFound
from invoicesync.errors import Transient
from invoicesync.settings import Settings

console_routes = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)


def development_secret_key() -> str:
    """Stable for one checkout on one machine, different everywhere else."""
    seed = f"invoicesync-console|{socket.gethostname()}|{Path(__file__).resolve()}"
    return hashlib.sha256(seed.encode()).hexdigest()


@console_routes.record_once
def _configure_session(state: BlueprintSetupState) -> None:
    settings: Settings = state.app.config["SETTINGS"]
    state.app.config.update(
        SECRET_KEY=settings.console_secret_key or development_secret_key(),
        SESSION_COOKIE_NAME="invoicesync_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
    )


@console_routes.before_request
def _refuse_forged_forms() -> None:
    check_csrf()


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
