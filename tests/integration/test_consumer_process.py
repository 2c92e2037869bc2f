"""A consumer service as an operator runs it: its own process, /metrics, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

from invoicesync.crypto import generate_key
from invoicesync.events import Envelope, EventType, Topic
from invoicesync.kafka.publisher import Publisher
from invoicesync.kafka.topics import topic_name
from tests.infrastructure import free_port, kafka_environment
from tests.waiting import eventually


def test_a_consumer_process_serves_metrics_and_stops_cleanly_on_sigterm(settings):
    port = free_port()
    env = {
        **os.environ,
        **kafka_environment(settings),
        "REDIS_URL": settings.redis_url,
        "INVOICESYNC_TOPIC_PREFIX": settings.topic_prefix,
        "INVOICESYNC_METRICS_PORT": str(port),
        "INVOICESYNC_TOKEN_ENCRYPTION_KEY": generate_key(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "transform.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    notices = topic_name(Topic.KEAP_NOTIFICATIONS, settings)

    def handled_a_notice() -> bool:
        return any(
            line.startswith("invoicesync_messages_handled_total{") and f'topic="{notices}"' in line
            for line in metrics().splitlines()
        )

    def metrics() -> str:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        try:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        except requests.ConnectionError:
            return ""

    try:
        eventually(lambda: "invoicesync_messages_handled_total" in metrics(), "/metrics")
        # A notice for a tenant nobody created: once it shows as handled, the process has
        # joined its group and polled, so SIGTERM meets a loop at work.
        publisher = Publisher(settings)
        publisher.publish(
            Topic.KEAP_NOTIFICATIONS, Envelope(EventType.SYNC_RESULT_RECORDED, "nobody", {})
        )
        publisher.close()
        eventually(handled_a_notice, "the notice handled")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        assert code == 0, process.stderr.read().decode()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
