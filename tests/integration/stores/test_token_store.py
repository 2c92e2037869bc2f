"""Connections in the real Redis: tokens encrypted at rest, status kept readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from invoicesync.stores.tokens import ProviderConnection, TokenStore, connection_key


def connection(tenant_id: str, **changes) -> ProviderConnection:
    values = dict(
        provider="xero",
        tenant_id=tenant_id,
        access_token="access-3b9f2c7d1e",
        refresh_token="refresh-8a6e4f0b2c",
        access_expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30),
        refresh_expires_at=datetime(2031, 5, 1, tzinfo=UTC),
        external_id="xero-org-1",
        external_name="Demo Org",
        connected_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    values.update(changes)
    return ProviderConnection(**values)


def test_a_saved_connection_loads_back_unchanged(store_redis, cipher, unique_name):
    store = TokenStore(store_redis, cipher)
    saved = connection(unique_name)
    store.save(saved)
    assert store.load("xero", unique_name) == saved
    assert store.load("qbo", unique_name) is None


def test_redis_never_holds_a_token_in_clear_text(store_redis, cipher, unique_name):
    TokenStore(store_redis, cipher).save(connection(unique_name))
    stored = store_redis.hgetall(connection_key("xero", unique_name))
    raw = b"".join(key + value for key, value in stored.items())
    assert b"access-3b9f2c7d1e" not in raw
    assert b"refresh-8a6e4f0b2c" not in raw
    assert stored[b"external_id"] == b"xero-org-1"
    assert unique_name in connection_key("xero", unique_name)


def test_mark_disconnected_keeps_the_connection_with_its_reason(store_redis, cipher, unique_name):
    store = TokenStore(store_redis, cipher)
    store.save(connection(unique_name))
    before = datetime.now(UTC)
    store.mark_disconnected("xero", unique_name, "refresh token rejected")
    first = store.load("xero", unique_name)
    store.mark_disconnected("xero", unique_name, "the organisation removed the app")
    loaded = store.load("xero", unique_name)
    assert loaded.status == "disconnected"
    assert loaded.disconnected_reason == "the organisation removed the app"
    assert first.disconnected_at is not None and first.disconnected_at >= before
    assert loaded.disconnected_at == first.disconnected_at  # when the gap began
    store.delete("xero", unique_name)
    assert store.load("xero", unique_name) is None
