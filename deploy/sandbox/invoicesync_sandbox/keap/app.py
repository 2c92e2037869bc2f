"""Application factory for the Keap stand-in (default port 8901)."""

import os

from flask import Flask

from invoicesync_sandbox.core.app import create_sandbox_app
from invoicesync_sandbox.keap.backoffice_routes import keap_backoffice
from invoicesync_sandbox.keap.catalog_routes import catalog_v2
from invoicesync_sandbox.keap.control_routes import keap_control
from invoicesync_sandbox.keap.hook_routes import hooks_v1
from invoicesync_sandbox.keap.oauth_routes import oauth
from invoicesync_sandbox.keap.order_routes import orders_v2
from invoicesync_sandbox.keap.sales_routes import sales_v2
from invoicesync_sandbox.keap.state import KeapState
from invoicesync_sandbox.keap.transaction_routes import transactions_v1


def create_app() -> Flask:
    state = KeapState(public_url=os.environ.get("SANDBOX_PUBLIC_URL", "http://127.0.0.1:8901"))
    blueprints = [
        oauth,
        orders_v2,
        sales_v2,
        catalog_v2,
        hooks_v1,
        transactions_v1,
        keap_control,
        keap_backoffice,
    ]
    return create_sandbox_app("keap", state, blueprints)
