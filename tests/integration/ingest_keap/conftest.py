"""The Keap stand-in with its limits relaxed, and a tenant connected to it."""

from __future__ import annotations

import pytest

from invoicesync.clients.keap import KEAP_SCOPE_KEY
from tests.integration.transform.keap_stand_in import create_tenant, keap_stand_in


@pytest.fixture
def keap(settings, redis_client):
    with keap_stand_in(settings, redis_client) as stand_in:
        stand_in.control("PUT", "/_sandbox/limits", {"enabled": False})
        yield stand_in
    redis_client.delete(f"invoicesync:limiter:{KEAP_SCOPE_KEY}:penalty")


@pytest.fixture
def tenant_id(keap, redis_client) -> str:
    """A tenant with settings saved, processing on, and Keap connected."""
    tenant = create_tenant(redis_client)
    keap.connect(tenant)
    return tenant
