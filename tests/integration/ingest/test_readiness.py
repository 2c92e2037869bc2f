"""/readyz tells a load balancer whether the hook receiver can take Keap's deliveries."""

from __future__ import annotations

from dataclasses import replace

from ingest.hooks_app import create_app
from tests.infrastructure import free_port


def test_the_hook_receiver_is_ready_only_while_kafka_answers(settings):
    ready = create_app(settings, publish_timeout_seconds=5).test_client().get("/readyz")
    unreachable = replace(settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    not_ready = create_app(unreachable, publish_timeout_seconds=1).test_client().get("/readyz")
    alive = create_app(unreachable, publish_timeout_seconds=1).test_client().get("/healthz")

    assert ready.status_code == 200
    assert not_ready.status_code == 503
    assert "check_ready" in not_ready.get_json()["failures"]
    assert alive.status_code == 200, "liveness does not depend on Kafka"
