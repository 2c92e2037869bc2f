"""The id map answers ReverseSync's question (which Keap id is behind this ledger id?) and
keeps answering it after Redis is lost and rebuilt from the ledger topic."""

from __future__ import annotations

from dataclasses import replace

import pytest

from invoicesync.kafka.publisher import Publisher
from invoicesync.stores.id_map import IdMap, MappedId, rebuild_from_ledger
from invoicesync.stores.redis_connection import redis_from_settings

pytestmark = pytest.mark.infra


@pytest.fixture
def own_redis(settings):
    base_url = settings.redis_url.rsplit("/", 1)[0]
    client = redis_from_settings(replace(settings, redis_url=f"{base_url}/8"))
    yield client
    client.flushdb()
    client.close()


def test_a_ledger_id_leads_back_to_its_keap_id_even_after_a_rebuild(
    settings, own_redis, unique_name
):
    publisher = Publisher(settings)
    ids = IdMap(own_redis, publisher, settings)
    ids.put(unique_name, "xero", "invoice", "101", MappedId("inv-1", "h1"))
    ids.put(unique_name, "xero", "payment", "7", MappedId("pay-7", "h2"))
    ids.put(unique_name, "qbo", "payment", "8", MappedId("pay-8", "h3"))
    ids.delete(unique_name, "qbo", "payment", "8")
    publisher.close()

    own_redis.flushdb()
    assert ids.keap_id_for(unique_name, "xero", "invoice", "inv-1") is None
    rebuild_from_ledger(settings, own_redis)

    assert ids.keap_id_for(unique_name, "xero", "invoice", "inv-1") == "101"
    assert ids.keap_id_for(unique_name, "xero", "payment", "pay-7") == "7"
    assert ids.keap_id_for(unique_name, "xero", "payment", "inv-1") is None
    assert ids.keap_id_for(unique_name, "qbo", "payment", "pay-8") is None
