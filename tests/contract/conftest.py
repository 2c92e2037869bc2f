"""What the sandbox contract suites share: a test client of the module's sandbox app, Keap's
bearer header, a connected Xero organisation, and Xero's official OpenAPI document.

Each module names its sandbox with its own `app` fixture; `client` serves whichever it is."""

from pathlib import Path

import pytest
import yaml

XERO_SPEC = (
    Path(__file__).parents[2] / "deploy/sandbox/invoicesync_sandbox/xero/spec/xero_accounting.yaml"
)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    """Keap's bearer header, for the sandbox's default app."""
    token = client.post("/_sandbox/token", json={}).get_json()
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def xero_session(client):
    """The test client, the headers of a new Xero organisation, and the token issued for it."""
    issued = client.post("/_sandbox/token", json={"client_id": "invoicesync-demo"}).get_json()
    headers = {
        "Authorization": f"Bearer {issued['access_token']}",
        "xero-tenant-id": issued["tenant_id"],
        "Accept": "application/json",
    }
    return client, headers, issued


@pytest.fixture(scope="session")
def xero_spec():
    return yaml.load(XERO_SPEC.read_text(), Loader=yaml.CSafeLoader)
