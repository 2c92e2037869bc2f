"""Integration fixtures: a Redis server of a test's own, which it may stop and start (the
session's one is shared)."""

from __future__ import annotations

import pytest

from tests.infrastructure import restartable_redis


@pytest.fixture
def own_redis():
    with restartable_redis() as server:
        yield server
