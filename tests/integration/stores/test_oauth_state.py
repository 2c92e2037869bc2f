"""The OAuth state parameter: bound to tenant and provider, single use, expiring."""

from __future__ import annotations

import pytest

from admin.stores.oauth_state import OAuthState, state_key
from invoicesync.errors import InvalidInput
from tests.waiting import eventually


def test_a_state_names_its_tenant_once(store_redis, unique_name):
    states = OAuthState(store_redis)
    state = states.issue(unique_name, "xero")
    assert states.consume(state, "xero") == unique_name
    with pytest.raises(InvalidInput, match="already used"):
        states.consume(state, "xero")


def test_a_state_issued_for_another_provider_is_refused(store_redis, unique_name):
    states = OAuthState(store_redis)
    state = states.issue(unique_name, "keap")
    with pytest.raises(InvalidInput, match="another provider"):
        states.consume(state, "qbo")


def test_an_expired_or_invented_state_is_refused(store_redis, unique_name):
    states = OAuthState(store_redis, ttl_seconds=1)
    state = states.issue(unique_name, "qbo")
    eventually(lambda: store_redis.exists(state_key(state)) == 0, "the state's TTL to run out")
    with pytest.raises(InvalidInput):
        states.consume(state, "qbo")
    with pytest.raises(InvalidInput):
        states.consume("made-up", "qbo")
    with pytest.raises(InvalidInput):
        states.consume("", "qbo")
