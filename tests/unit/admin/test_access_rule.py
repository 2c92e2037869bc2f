"""The access rule behind the API and the console: an operator key sees every tenant, a tenant
key only its own, and no key is refused before anything else is asked."""

from __future__ import annotations

from datetime import UTC, datetime

from admin.access import Refusal, operator_refusal, tenant_access_refusal
from admin.stores.api_keys import ApiKey, Role


def key(role: Role, tenant_id: str | None = None) -> ApiKey:
    return ApiKey("k1", role, tenant_id, "test", datetime(2024, 1, 1, tzinfo=UTC))


def test_an_operator_key_may_open_any_tenant_and_operator_work():
    operator = key(Role.OPERATOR)
    assert tenant_access_refusal(operator, "t-1") is None
    assert operator_refusal(operator) is None


def test_a_tenant_key_may_open_only_its_own_tenant_and_no_operator_work():
    tenant = key(Role.TENANT, "t-1")
    assert tenant_access_refusal(tenant, "t-1") is None
    assert tenant_access_refusal(tenant, "t-2") is Refusal.OTHER_TENANT
    assert operator_refusal(tenant) is Refusal.NOT_OPERATOR


def test_no_key_is_refused_as_missing_rather_than_forbidden():
    assert tenant_access_refusal(None, "t-1") is Refusal.NO_KEY
    assert operator_refusal(None) is Refusal.NO_KEY
