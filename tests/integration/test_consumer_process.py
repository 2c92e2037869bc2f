"""A consumer service as an operator runs it: its own process, /metrics, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from invoicesync.crypto import generate_key
from tests.infrastructure import free_port


def test_a_consumer_process_serves_metrics_and_stops_cleanly_on_sigterm(settings):
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
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
    try:
        body = ""
        deadline = time.monotonic() + 60
        while "invoicesync_messages_handled_total" not in body:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no /metrics within 60 s"
            try:
                body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.ConnectionError:
                time.sleep(0.2)
        time.sleep(2)  # let it join its group and poll
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        assert code == 0, process.stderr.read().decode()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
