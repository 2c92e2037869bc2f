"""An admin app per test on the real Kafka and Redis, with an operator key."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from admin.admin_services import AdminServices
from admin.app import create_app
from admin.stores.api_keys import Role
from invoicesync.crypto import generate_key


@dataclass
class Admin:
    client: object
    services: AdminServices
    operator_key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.operator_key}"}

    def create_tenant(self, name: str = "Acme", destination: str = "xero") -> dict:
        response = self.client.post(
            "/api/v1/tenants",
            json={"name": name, "destination": destination},
            headers=self.headers(),
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def admin_settings(settings):
    return replace(settings, token_encryption_key=generate_key())


@pytest.fixture
def admin(admin_settings):
    services = AdminServices.from_settings(admin_settings, publish_timeout_seconds=30)
    app = create_app(admin_settings, services)
    operator = services.api_keys.issue(Role.OPERATOR, label="test operator")
    yield Admin(app.test_client(), services, operator.secret)
    services.close()
