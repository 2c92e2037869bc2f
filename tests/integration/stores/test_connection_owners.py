"""One owner per ledger organisation: the first tenant to claim it keeps it, a rebuild of the
index from stored connections never moves it, and a tenant that reconnected elsewhere frees it."""

from __future__ import annotations

import uuid

from invoicesync.domain.canonical import Destination
from invoicesync.stores.connection_owners import ConnectionOwners
from invoicesync.stores.tenants import TenantStore
from invoicesync.stores.tokens import connection_key
from reverse_sync.connected_tenants import ConnectedTenants


def _connected_to(store_redis, realm_id: str) -> str:
    tenant = TenantStore(store_redis).create("Books", Destination.QBO)
    store_redis.hset(connection_key("qbo", tenant.id), "external_id", realm_id)
    return tenant.id


def test_a_rebuild_keeps_the_company_with_the_tenant_that_claimed_it(store_redis):
    realm_id = uuid.uuid4().hex
    owner = _connected_to(store_redis, realm_id)
    assert ConnectionOwners(store_redis).claim("qbo", realm_id, owner) is None
    # Older data: other tenants' connections name the same company.
    for _ in range(6):
        _connected_to(store_redis, realm_id)

    routed = ConnectedTenants(store_redis)
    routed.refresh("qbo")

    assert routed.tenant_for("qbo", realm_id) == owner


def test_a_second_claim_is_refused_until_the_owner_connects_elsewhere(store_redis):
    realm_id = uuid.uuid4().hex
    owners = ConnectionOwners(store_redis)
    first = _connected_to(store_redis, realm_id)
    second = _connected_to(store_redis, realm_id)
    owners.claim("qbo", realm_id, first)

    refused = owners.claim("qbo", realm_id, second)
    store_redis.hset(connection_key("qbo", first), "external_id", "another-company")
    taken_over = owners.claim("qbo", realm_id, second)

    assert refused == first
    assert taken_over is None
    assert owners.owner("qbo", realm_id) == second
