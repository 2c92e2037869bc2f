"""Redis-backed store fixtures: the session's real Redis, through the project's own client."""

from __future__ import annotations

import pytest

from invoicesync.crypto import TokenCipher, generate_key
from invoicesync.settings import Settings
from invoicesync.stores.redis_connection import redis_from_settings


@pytest.fixture
def store_redis(redis_server):
    client = redis_from_settings(Settings(redis_url=redis_server.address))
    yield client
    client.close()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(generate_key())
