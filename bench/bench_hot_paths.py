"""The hot paths' throughput: the Keap hook receiver served by gunicorn as `make up` serves it,
with 16 concurrent senders on the same machine, and transform draining notifications that need
no provider call (the tenant's processing is off, so each is held).

With INVOICESYNC_BENCH_BASELINE set to another checkout of this repository (with its own
`.venv`), the same measurements are made on that checkout's code in the same run and printed
with a `_baseline` suffix: today's path beside the new one.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from urllib.parse import urlsplit

import requests

HERE = Path(__file__).resolve()
SENDERS = 16
SEND_SECONDS = 8.0
# Hooks come from many Keap apps, each within its own share of deliveries (a burst of 30, then
# one every 2 s): the senders go round this many tenants, so no share is used up and the figure
# is the receiver's, not one tenant's allowance.
HOOK_TENANTS = 1000
TRANSFORM_MESSAGES = 2000
JSON_HEADERS = {"Content-Type": "application/json"}


def _figure_line(name: str, value: float, unit: str) -> str:
    return f"{name} {value:.4g} {unit}"


def _settings(bootstrap: str, redis_url: str):
    from invoicesync.crypto import generate_key
    from invoicesync.kafka.topics import ensure_topics
    from invoicesync.settings import Settings

    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        # The broker's user comes through the environment, as it does for the services.
        kafka_username=os.environ.get("INVOICESYNC_KAFKA_USERNAME", ""),
        kafka_password=os.environ.get("INVOICESYNC_KAFKA_PASSWORD", ""),
        redis_url=redis_url,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        token_encryption_key=generate_key(),
    )
    ensure_topics(settings)
    return settings


def _hooks_server(settings, repo: Path) -> tuple[subprocess.Popen, str]:
    from tests.infrastructure import free_port, kafka_environment

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INVOICESYNC_")},
        **kafka_environment(settings),
        "REDIS_URL": settings.redis_url,
        "INVOICESYNC_TOPIC_PREFIX": settings.topic_prefix,
        "INVOICESYNC_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
        "INVOICESYNC_LOG_LEVEL": "WARNING",
        **{k: v for k, v in os.environ.items() if k.startswith("INVOICESYNC_HTTP_")},
    }
    command = (
        f"{repo}/.venv/bin/gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:{port} "
        '"ingest.hooks_app:create_app()"'
    )
    server = subprocess.Popen(
        shlex.split(command),
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                return server, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("the hooks app did not become ready")


def _send_hooks(url: str, tokens: list[str], ids_per_hook: int) -> tuple[int, int]:
    """Hooks accepted (200) and refused in SEND_SECONDS by SENDERS concurrent senders, each
    hook for the next of `tokens`."""
    ids = count(1)
    turns = count()
    lock = threading.Lock()
    accepted = [0]
    refused = [0]
    stop_at = time.monotonic() + SEND_SECONDS

    address = urlsplit(url)

    def sender() -> None:
        # http.client on a kept-alive connection: the senders share the receiver's 2 cores, and
        # requests' own work per call would be a good part of what is measured.
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                keys = [{"id": next(ids)} for _ in range(ids_per_hook)]
                token = tokens[next(turns) % len(tokens)]
            body = json.dumps({"event_key": "order.add", "object_keys": keys})
            try:
                connection.request("POST", f"/hooks/keap/{token}", body, JSON_HEADERS)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (http.client.HTTPException, OSError):
                connection.close()  # reconnects on the next request
                status = 0
            with lock:
                if status == 200:
                    accepted[0] += 1
                else:
                    refused[0] += 1
        connection.close()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted[0], refused[0]


def measure_ingest(bootstrap: str, redis_url: str, repo: Path) -> list[str]:
    import redis

    from invoicesync.domain.canonical import Destination
    from invoicesync.stores.tenants import TenantStore

    settings = _settings(bootstrap, redis_url)
    client = redis.Redis.from_url(settings.redis_url)
    store = TenantStore(client)
    tokens = [
        store.create(f"Bench hooks {n}", Destination.XERO).hook_token for n in range(HOOK_TENANTS)
    ]
    server, url = _hooks_server(settings, repo)
    try:
        _send_hooks_warm(url, tokens[0])
        hooks, refused_one = _send_hooks(url, tokens, 1)
        batches, refused_many = _send_hooks(url, tokens, 20)
    finally:
        os.killpg(server.pid, 9)
        server.wait(timeout=10)
        client.close()
    if refused_one or refused_many:
        print(f"# ingest refused {refused_one + refused_many} hooks", file=sys.stderr)
    return [
        _figure_line("ingest_hooks_per_s", hooks / SEND_SECONDS, "hooks/s"),
        _figure_line("ingest_ids_per_s", batches * 20 / SEND_SECONDS, "ids/s"),
    ]


def _send_hooks_warm(url: str, token: str) -> None:
    for number in range(20):
        requests.post(
            f"{url}/hooks/keap/{token}",
            json={"event_key": "order.add", "object_keys": [{"id": 10_000_000 + number}]},
            timeout=30,
        )


def measure_transform(bootstrap: str, redis_url: str) -> list[str]:
    import redis

    from invoicesync.domain.canonical import Destination
    from invoicesync.events import (
        EventType,
        KeapNotification,
        NotificationSource,
        Topic,
        envelope_for,
    )
    from invoicesync.kafka.publisher import Outgoing, Publisher
    from invoicesync.stores.tenants import TenantStore
    from transform.main import build_loop

    settings = _settings(bootstrap, redis_url)
    client = redis.Redis.from_url(settings.redis_url)
    store = TenantStore(client)
    tenants = [store.create(f"Bench held {n}", Destination.XERO).id for n in range(4)]
    publisher = Publisher(settings)
    observed = datetime.now(UTC)
    publisher.publish_all(
        [
            Outgoing(
                Topic.KEAP_NOTIFICATIONS,
                envelope_for(
                    EventType.KEAP_CHANGE_NOTIFIED,
                    tenants[number % len(tenants)],
                    KeapNotification(
                        object_type="order",
                        object_id=str(number + 1),
                        source=NotificationSource.HOOK,
                        observed_at=observed,
                        event_key="order.add",
                    ),
                ),
            )
            for number in range(TRANSFORM_MESSAGES)
        ]
    )
    publisher.close()
    loop = build_loop(settings)
    finished = 0
    total = TRANSFORM_MESSAGES
    started = None
    deadline = time.monotonic() + 600
    while finished < total and time.monotonic() < deadline:
        done = loop.poll_once()
        if done and started is None:
            started = time.perf_counter()  # the group joined: time from the first results
            total = TRANSFORM_MESSAGES - done
            continue
        finished += done
    elapsed = time.perf_counter() - (started or time.perf_counter())
    loop.close()
    client.close()
    return [_figure_line("transform_messages_per_s", finished / max(elapsed, 1e-9), "msg/s")]


def _infrastructure():
    sys.path.insert(0, str(Path.cwd()))
    from tests.infrastructure import start_kafka, start_redis

    return start_kafka(), start_redis()


def _measure_here(part: str, bootstrap: str, redis_url: str) -> list[str]:
    if part == "ingest":
        return measure_ingest(bootstrap, redis_url, Path.cwd())
    return measure_transform(bootstrap, redis_url)


def _on_checkout(repo: Path, part: str, bootstrap: str, redis_url: str) -> list[str]:
    """The same measurement on another checkout's code, in a process of its own."""
    result = subprocess.run(
        [str(repo / ".venv" / "bin" / "python"), str(HERE), part, bootstrap, redis_url],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"baseline {part} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run():
    from bench.figures import Figure

    kafka, redis_server = _infrastructure()
    os.environ["INVOICESYNC_KAFKA_USERNAME"] = kafka.username  # read by this and _on_checkout's
    os.environ["INVOICESYNC_KAFKA_PASSWORD"] = kafka.password
    baseline = os.environ.get("INVOICESYNC_BENCH_BASELINE")
    lines: list[str] = []
    try:
        for part in ("ingest", "transform"):
            if baseline:
                for line in _on_checkout(Path(baseline), part, kafka.address, redis_server.address):
                    name, value, unit = line.split(" ", 2)
                    lines.append(f"{name}_baseline {value} {unit}")
            lines += _measure_here(part, kafka.address, redis_server.address)
    finally:
        redis_server.remove()
        kafka.remove()
    figures = []
    for line in lines:
        name, value, unit = line.split(" ", 2)
        figures.append(Figure(name, float(value), unit))
    return figures


if __name__ == "__main__":
    # python bench/bench_hot_paths.py PART BOOTSTRAP REDIS_URL: one measurement, as JSON lines.
    sys.path.insert(0, str(Path.cwd()))
    print(json.dumps(_measure_here(sys.argv[1], sys.argv[2], sys.argv[3])))
