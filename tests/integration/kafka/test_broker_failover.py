"""A three-broker cluster (deploy/kafka/kafka.sh, KAFKA_BROKERS=3) losing the leader of the
partition it is streaming through: kill -9 mid-stream, nothing lost, no effect twice, and the
killed broker rejoins. One cluster for the module, which runs on one xdist worker alone."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest
import redis
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from invoicesync.events import Envelope, EventType, Topic
from invoicesync.kafka.connection import kafka_connection
from invoicesync.kafka.consumer_loop import ConsumerLoop, LoopOptions, one_at_a_time
from invoicesync.kafka.publisher import Outgoing, Publisher
from invoicesync.kafka.topics import ensure_topics, group_name, topic_name
from invoicesync.settings import Settings
from tests.infrastructure import KAFKA_APP_USER, KAFKA_SCRIPT, ScriptServer, free_port
from tests.integration.topic_reading import read_topic
from tests.waiting import DEADLINE_SECONDS, eventually, finished_with_everything_published

pytestmark = pytest.mark.xdist_group("kafka-cluster")

BROKERS = 3
MESSAGES = 150
BATCH = 5
KILL_AFTER_BATCHES = 10  # a third of the stream is out before the leader dies...
HELD_MESSAGE = 40  # ...and the consumer is in the middle of a poll, this message in its hands
TENANT = "tenant-failover"


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def consecutive_free_ports(count: int, taken: range = range(0)) -> int:
    """The first of `count` consecutive ports nothing listens on (none of them in `taken`)."""
    for _ in range(200):
        first = free_port()
        ports = range(first, first + count)
        if not set(ports) & set(taken) and all(_bindable(port) for port in ports[1:]):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


@pytest.fixture(scope="module")
def cluster():
    data_dir = Path(tempfile.mkdtemp(prefix="invoicesync-kafka-cluster-"))
    port = consecutive_free_ports(BROKERS)
    controller_port = consecutive_free_ports(BROKERS, taken=range(port, port + BROKERS))
    password, admin_password = secrets.token_hex(16), secrets.token_hex(16)
    server = ScriptServer(
        KAFKA_SCRIPT,
        {
            "KAFKA_BROKERS": str(BROKERS),
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller_port),
            "KAFKA_DATA_DIR": str(data_dir),
            "KAFKA_ADMIN_PASSWORD": admin_password,
            "KAFKA_USERS": f"{KAFKA_APP_USER}={password}",
        },
        ",".join(f"127.0.0.1:{port + n}" for n in range(BROKERS)),
        data_dir,
        username=KAFKA_APP_USER,
        password=password,
        admin_password=admin_password,
    )
    try:
        server.start()
    except Exception as exc:
        server.remove()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Kafka cluster could be started: {exc}")
    yield server
    server.remove()


@pytest.fixture
def cluster_settings(cluster, redis_server, unique_name) -> Settings:
    # One partition: the whole stream goes through the one leader the test kills.
    settings = Settings(
        kafka_bootstrap_servers=cluster.address,
        kafka_username=cluster.username,
        kafka_password=cluster.password,
        redis_url=redis_server.address,
        topic_prefix=f"{unique_name}.",
        topic_partitions=1,
        consumer_backoff_seconds=0.05,
        consumer_backoff_max_seconds=0.5,
        token_encryption_key="",
    )
    ensure_topics(settings)
    return settings


def describe_partition(settings: Settings, name: str) -> dict:
    admin = KafkaAdminClient(**kafka_connection(settings))
    try:
        [topic] = admin.describe_topics([name])
    finally:
        admin.close()
    [partition] = topic["partitions"]
    return partition


def min_insync_replicas(settings: Settings, name: str) -> tuple[str, str]:
    """The topic's min.insync.replicas and where it comes from (the topic's own or a default)."""
    admin = KafkaAdminClient(**kafka_connection(settings))
    try:
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, ["min.insync.replicas"])],
            config_filter="all",
        )
    finally:
        admin.close()
    entry = configs["topic"][name]["min.insync.replicas"]
    return entry["value"], entry["config_source"]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_killing_the_partition_leader_mid_stream_loses_nothing_and_doubles_no_effect(
    cluster, cluster_settings, redis_server, unique_name
):
    settings = cluster_settings
    notices = topic_name(Topic.KEAP_NOTIFICATIONS, settings)
    assert len(describe_partition(settings, notices)["replica_nodes"]) == BROKERS
    assert min_insync_replicas(settings, notices) == ("2", "DYNAMIC_TOPIC_CONFIG")

    store = redis.Redis.from_url(redis_server.address)
    deliveries, effects, order = (
        f"{unique_name}:{what}" for what in ("deliveries", "effects", "order")
    )

    ready_to_kill, killed, holding = threading.Event(), threading.Event(), threading.Event()

    def effect(envelope: Envelope) -> list[Outgoing]:
        """Idempotent by message id: a redelivered message is counted, its effect is not redone."""
        if envelope.payload["number"] == HELD_MESSAGE and not killed.is_set():
            holding.set()  # what this poll handled so far is not committed yet
            killed.wait(DEADLINE_SECONDS)
        store.hincrby(deliveries, envelope.event_id, 1)
        if store.set(f"{unique_name}:done:{envelope.event_id}", 1, nx=True):
            store.hincrby(effects, envelope.event_id, 1)
            store.rpush(order, envelope.payload["number"])
        return []

    loop = ConsumerLoop(
        settings,
        LoopOptions(group_id=unique_name, topics=(Topic.KEAP_NOTIFICATIONS,)),
        one_at_a_time(effect),
        Publisher(settings),
    )
    consuming = threading.Thread(target=loop.run, kwargs={"install_signal_handlers": False})

    stream = [
        Envelope(EventType.SYNC_RESULT_RECORDED, TENANT, {"number": number})
        for number in range(MESSAGES)
    ]
    ids = {envelope.event_id for envelope in stream}
    resent: Counter[str] = Counter()  # batches the sender had to send again, by message id
    sender_failure: list[BaseException] = []

    def send() -> None:
        # acks=all and idempotent: the project's one publisher, with room for a failover.
        publisher = Publisher(settings, timeout_seconds=60)
        try:
            for start in range(0, MESSAGES, BATCH):
                if start == KILL_AFTER_BATCHES * BATCH:
                    ready_to_kill.set()
                    killed.wait(DEADLINE_SECONDS)
                batch = [
                    Outgoing(Topic.KEAP_NOTIFICATIONS, e) for e in stream[start : start + BATCH]
                ]
                for attempt in range(5):
                    try:
                        publisher.publish_all(batch)
                        break
                    except Exception:
                        if attempt == 4:
                            raise
                        resent.update(item.envelope.event_id for item in batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            sender_failure.append(exc)
        finally:
            publisher.close()

    sending = threading.Thread(target=send)
    consuming.start()
    sending.start()
    try:
        eventually(ready_to_kill.is_set, "a third of the stream to be published")
        eventually(holding.is_set, f"the consumer to hold message {HELD_MESSAGE}")
        leader = describe_partition(settings, notices)["leader_id"]
        pid = int((cluster.data_dir / f"node-{leader}" / "kafka.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: not alive(pid), f"broker {leader} to die")
        assert script_status(cluster) == (1, f"node {leader} not running")
        effected_at_kill = store.hlen(effects)
        killed.set()

        sending.join(DEADLINE_SECONDS)
        assert not sending.is_alive() and not sender_failure, sender_failure
        eventually(lambda: store.hlen(effects) >= MESSAGES, "every message's effect", step=0.25)
        finished_with_everything_published(settings, group_name(unique_name, settings), [notices])
    finally:
        killed.set()
        loop.stop()
        consuming.join(DEADLINE_SECONDS)

    effect_counts = {key.decode(): int(n) for key, n in store.hgetall(effects).items()}
    delivery_counts = {key.decode(): int(n) for key, n in store.hgetall(deliveries).items()}
    in_topic = Counter(
        event["event_id"] for event in read_topic(settings, Topic.KEAP_NOTIFICATIONS, MESSAGES)
    )
    print(
        f"leader {leader} killed after {effected_at_kill} effects; "
        f"{sum(delivery_counts.values())} deliveries of {MESSAGES} messages "
        f"({sum(n - 1 for n in delivery_counts.values())} redelivered); "
        f"{sum(in_topic.values())} records in the topic; {len(resent)} messages sent again"
    )
    assert set(in_topic) == ids, "a published message is missing from the topic"
    # The idempotent producer's own retries never duplicate; only a batch the sender had to
    # send again (its acknowledgement lost with the leader) may be in the log twice.
    assert all(n == 1 or (n <= 1 + resent[event_id]) for event_id, n in in_topic.items()), in_topic
    assert set(effect_counts) == ids, "a message was lost: its effect never happened"
    assert set(effect_counts.values()) == {1}, "an effect happened twice"
    assert set(delivery_counts) == ids and min(delivery_counts.values()) >= 1
    first_effects = [int(n) for n in store.lrange(order, 0, -1)]
    assert first_effects == sorted(first_effects), "the tenant's messages took effect out of order"

    # The killed broker comes back (the script starts the node that is not running) and
    # catches up: it is in the partition's in-sync replicas again.
    cluster.start()
    eventually(
        lambda: leader in describe_partition(settings, notices)["isr_nodes"],
        f"broker {leader} back in the in-sync replicas",
        step=0.5,
    )
    assert script_status(cluster) == (0, "")


def script_status(cluster: ScriptServer) -> tuple[int, str]:
    """`kafka.sh status`'s exit code and its lines for nodes that are not running."""
    result = subprocess.run(
        ["bash", str(cluster.script), "status"],
        env={**os.environ, **cluster.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == BROKERS, result.stdout
    return result.returncode, "\n".join(line for line in lines if "not running" in line)
