"""The admin app (console included) per test on the real Kafka and Redis, and two tenants."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pytest

from admin import tenant_operations as operations
from admin.admin_services import AdminServices
from admin.app import create_app
from invoicesync.crypto import generate_key
from invoicesync.domain.canonical import Destination


@dataclass
class Console:
    client: object
    services: AdminServices

    def new_tenant(self, name: str, destination: Destination = Destination.XERO) -> tuple[str, str]:
        tenant, key = operations.create_tenant(self.services, name, destination)
        return tenant.id, key.secret

    def sign_in(self, key: str) -> None:
        response = self.client.post(
            "/signin", data={"api_key": key, "csrf_token": self.csrf_token("/signin")}
        )
        assert response.status_code == 302, response.get_data(as_text=True)

    def csrf_token(self, path: str) -> str:
        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def console(settings):
    console_settings = replace(settings, token_encryption_key=generate_key())
    services = AdminServices.from_settings(console_settings, publish_timeout_seconds=5)
    app = create_app(console_settings, services)
    yield Console(app.test_client(), services)
    services.close()
