"""Application factory for the Xero stand-in (identity + accounting on one port)."""

from __future__ import annotations

import os

from flask import Flask

from invoicesync_sandbox.core.app import create_sandbox_app
from invoicesync_sandbox.xero import (  # noqa: F401
    allocations_routes,
    contacts_routes,
    credit_notes_routes,
    invoices_routes,
    items_routes,
    payments_routes,
    settings_routes,  # noqa: F401
    tax_rates_routes,
)
from invoicesync_sandbox.xero.contract import accounting_contract
from invoicesync_sandbox.xero.control_routes import xero_control
from invoicesync_sandbox.xero.gate import accounting
from invoicesync_sandbox.xero.identity_routes import identity
from invoicesync_sandbox.xero.state import XeroState


def create_app(state: XeroState | None = None) -> Flask:
    state = state or XeroState(os.environ.get("SANDBOX_PUBLIC_URL", "http://127.0.0.1:8902"))
    accounting_contract()  # compile the spec at start-up, not on the first call
    return create_sandbox_app("xero", state, [identity, accounting, xero_control])
