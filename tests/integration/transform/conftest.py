"""The transform service running in a thread against the real broker, Redis and a Keap stand-in."""

from __future__ import annotations

import threading

import pytest

from invoicesync.kafka.publisher import Publisher
from tests.integration.transform.keap_stand_in import keap_stand_in
from transform.main import build_loop


@pytest.fixture
def service(settings, redis_client):
    with keap_stand_in(settings, redis_client) as keap:
        loop = build_loop(keap.settings)
        thread = threading.Thread(
            target=loop.run, kwargs={"install_signal_handlers": False}, daemon=True
        )
        thread.start()
        publisher = Publisher(keap.settings)
        try:
            yield keap, publisher
        finally:
            loop.stop()
            thread.join(timeout=10)
            publisher.close()
