"""The QBO stand-in's Flask app: core mechanism plus OAuth, Accounting API and control routes."""

from __future__ import annotations

from flask import Flask

from invoicesync_sandbox.core.app import create_sandbox_app

from .api import api
from .control import control
from .oauth import oauth
from .state import QboState


def create_app(state: QboState | None = None) -> Flask:
    """Reads `SANDBOX_PUBLIC_URL` and `QBO_SANDBOX_REFRESH_ROTATION_SECONDS` from the env."""
    return create_sandbox_app("qbo", state or QboState(), [oauth, api, control])
