"""Serve a WSGI app (a sandbox provider) on a free local port in a thread, for one test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app) -> Iterator[str]:
    """Yields the base URL; the server stops when the block ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def pointed_at_xero(settings, xero_url: str, **overrides):
    """`settings` with Xero's identity and API on the served Xero stand-in, as its demo app."""
    from dataclasses import replace

    from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    return replace(
        settings,
        xero_api_base=xero_url,
        xero_authorize_url=f"{xero_url}/identity/connect/authorize",
        xero_token_url=f"{xero_url}/connect/token",
        xero_client_id=DEMO_CLIENT_ID,
        xero_client_secret=DEMO_CLIENT_SECRET,
        **overrides,
    )
