"""The Keap stand-in with its limits relaxed, a tenant connected to it, and a Redis database of
this folder's own: the poller walks every tenant in Redis, so it must see only this test's."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest
import redis

from invoicesync.clients.keap import KEAP_SCOPE_KEY
from tests.integration.transform.keap_stand_in import create_tenant, keap_stand_in

KEAP_SIDE_DB = 13


@pytest.fixture
def settings(settings):
    url = urlsplit(settings.redis_url)._replace(path=f"/{KEAP_SIDE_DB}").geturl()
    return replace(settings, redis_url=url)


@pytest.fixture
def redis_client(settings):
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.close()


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
