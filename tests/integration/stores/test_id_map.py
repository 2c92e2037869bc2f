"""The id map through the real broker: a flushed Redis is rebuilt from the compacted ledger."""

from __future__ import annotations

from dataclasses import replace

import pytest

from invoicesync.kafka.publisher import Publisher
from invoicesync.stores.id_map import (
    IdMap,
    MappedId,
    rebuild_from_ledger,
    restore_id_map_if_lost,
)
from invoicesync.stores.redis_connection import redis_from_settings


@pytest.fixture
def ledger_redis(settings):
    # A database of its own, so FLUSHDB cannot disturb tests sharing database 0.
    base_url = settings.redis_url.rsplit("/", 1)[0]
    client = redis_from_settings(replace(settings, redis_url=f"{base_url}/7"))
    yield client
    client.flushdb()
    client.close()


def test_put_then_get_returns_the_mapping(settings, ledger_redis, unique_name):
    ids = IdMap(ledger_redis, None, settings)
    assert ids.get(unique_name, "xero", "invoice", "101") is None
    ids.put(unique_name, "xero", "invoice", "101", MappedId("inv-9", "hash-a", "AUTHORISED"))
    assert ids.get(unique_name, "xero", "invoice", "101") == MappedId(
        "inv-9", "hash-a", "AUTHORISED"
    )
    assert ids.get(unique_name, "qbo", "invoice", "101") is None


def test_a_flushed_redis_is_restored_from_the_ledger(settings, ledger_redis, unique_name):
    publisher = Publisher(settings)
    ids = IdMap(ledger_redis, publisher, settings)
    ids.put(unique_name, "xero", "invoice", "101", MappedId("inv-1", "hash-1", "DRAFT"))
    ids.put(unique_name, "xero", "invoice", "101", MappedId("inv-1", "hash-2", "AUTHORISED"))
    ids.put(unique_name, "xero", "payment", "7", MappedId("pay-7", "hash-p"))
    ids.put(unique_name, "qbo", "invoice", "102", MappedId("55", "hash-q"))
    ids.delete(unique_name, "qbo", "invoice", "102")
    publisher.close()

    ledger_redis.flushdb()
    assert ids.get(unique_name, "xero", "invoice", "101") is None

    assert rebuild_from_ledger(settings, ledger_redis) == 2
    assert ids.get(unique_name, "xero", "invoice", "101") == MappedId(
        "inv-1", "hash-2", "AUTHORISED"
    )
    assert ids.get(unique_name, "xero", "payment", "7") == MappedId("pay-7", "hash-p")
    assert ids.get(unique_name, "qbo", "invoice", "102") is None


def test_a_lost_id_map_is_restored_once_and_never_over_a_newer_mapping(
    settings, ledger_redis, unique_name
):
    publisher = Publisher(settings)
    ids = IdMap(ledger_redis, publisher, settings)
    ids.put(unique_name, "xero", "invoice", "201", MappedId("inv-201", "old"))
    ids.put(unique_name, "xero", "invoice", "202", MappedId("inv-202", "h"))
    publisher.close()
    assert restore_id_map_if_lost(settings, ledger_redis) is not None, "no marker yet: restored"
    assert restore_id_map_if_lost(settings, ledger_redis) is None, "marker present: nothing to do"

    ledger_redis.flushdb()
    newer_than_the_ledger = IdMap(ledger_redis, None, settings)
    newer_than_the_ledger.put(unique_name, "xero", "invoice", "201", MappedId("inv-201", "new"))

    assert restore_id_map_if_lost(settings, ledger_redis) is not None
    assert ids.get(unique_name, "xero", "invoice", "201") == MappedId("inv-201", "new")
    assert ids.get(unique_name, "xero", "invoice", "202") == MappedId("inv-202", "h")
    assert ids.keap_id_for(unique_name, "xero", "invoice", "inv-202") == "202"
