"""Integration fixtures: a Redis server of a test's own, which it may stop and start (the
session's one is shared)."""

from __future__ import annotations

import pytest

from tests.infrastructure import start_redis


@pytest.fixture
def own_redis():
    try:
        server = start_redis()
    except Exception as exc:  # noqa: BLE001 - no server here: the same skip as the session's
        pytest.skip(f"no Redis server could be started: {exc}")
    if not server.restartable():
        pytest.skip("the Redis server is not ours to stop")
    yield server
    server.remove()
