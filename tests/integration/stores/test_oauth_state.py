"""The OAuth state parameter: bound to tenant, provider, starting key and browser; single use,
expiring."""

from __future__ import annotations

import pytest

from admin.stores.oauth_state import FlowStart, OAuthState, state_key
from invoicesync.errors import InvalidInput
from tests.waiting import eventually


def test_a_state_names_its_tenant_and_starter_once(store_redis, unique_name):
    states = OAuthState(store_redis)
    issued = states.issue(unique_name, "xero", "key1")
    assert states.consume(issued.state, "xero", issued.browser_secret) == FlowStart(
        unique_name, "key1"
    )
    with pytest.raises(InvalidInput, match="already used"):
        states.consume(issued.state, "xero", issued.browser_secret)


def test_a_state_coming_back_to_another_browser_is_refused_and_spent(store_redis, unique_name):
    states = OAuthState(store_redis)
    issued = states.issue(unique_name, "xero", "key1")
    with pytest.raises(InvalidInput, match="another browser"):
        states.consume(issued.state, "xero", "")
    with pytest.raises(InvalidInput, match="already used"):
        states.consume(issued.state, "xero", issued.browser_secret)


def test_a_state_issued_for_another_provider_is_refused(store_redis, unique_name):
    states = OAuthState(store_redis)
    issued = states.issue(unique_name, "keap", "key1")
    with pytest.raises(InvalidInput, match="another provider"):
        states.consume(issued.state, "qbo", issued.browser_secret)


def test_an_expired_or_invented_state_is_refused(store_redis, unique_name):
    states = OAuthState(store_redis, ttl_seconds=1)
    issued = states.issue(unique_name, "qbo", "key1")
    eventually(
        lambda: store_redis.exists(state_key(issued.state)) == 0, "the state's TTL to run out"
    )
    with pytest.raises(InvalidInput):
        states.consume(issued.state, "qbo", issued.browser_secret)
    with pytest.raises(InvalidInput):
        states.consume("made-up", "qbo", "")
    with pytest.raises(InvalidInput):
        states.consume("", "qbo", "")
