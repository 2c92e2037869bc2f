"""Real Kafka and Redis for the test run: existing servers from the environment, a Docker
container where an engine answers, otherwise the project's own scripts on free ports.

The scripts' servers take no one without credentials: Redis a password (carried in its URL),
Kafka SCRAM users made at start (`KAFKA_APP_USER` for the services, "admin" for the broker
itself). Servers from the environment take theirs from INVOICESYNC_KAFKA_USERNAME /
INVOICESYNC_KAFKA_PASSWORD (KAFKA_ADMIN_PASSWORD) and the password in REDIS_URL."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = REPO / "deploy" / "kafka" / "kafka.sh"
REDIS_SCRIPT = REPO / "deploy" / "redis" / "redis.sh"
KAFKA_IMAGE = "apache/kafka:4.3.1"
KAFKA_APP_USER = "invoicesync"


# Below Linux's ephemeral range (32768-60999), from which every outgoing connection takes its
# local port: a port picked there can be taken by some client's connect() before the server it
# was picked for binds it, as a stack's process once found ("Address already in use").
_LISTEN_PORTS = range(20000, 32768)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on or connects from now, for a server about to start. Never one
    this process handed out before: a stack's servers start after all their ports are picked,
    and two picks alike would meet at bind time."""
    for port in random.sample(_LISTEN_PORTS, 200):
        if port in _HANDED_OUT:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as probe:  # that range is crowded: any port the kernel offers
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ScriptServer:
    """A server run by one of the project's scripts, in its own data dir on its own ports."""

    script: Path
    env: dict[str, str]
    address: str
    data_dir: Path
    log_files: list[str] = field(default_factory=list)
    # Kafka's: the services' user and password, and the broker's own (admin) password.
    username: str = ""
    password: str = ""
    admin_password: str = ""

    def start(self) -> None:
        result = subprocess.run(
            ["bash", str(self.script), "start"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=240,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{self.script.name} start failed:\n{result.stdout}\n{result.stderr}"
            )

    def stop(self) -> None:
        subprocess.run(
            ["bash", str(self.script), "stop"],
            env={**os.environ, **self.env},
            capture_output=True,
            timeout=60,
        )

    def restartable(self) -> bool:
        return True

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@dataclass
class ExternalServer:
    address: str
    username: str = ""
    password: str = ""
    admin_password: str = ""

    def start(self) -> None:  # not ours to manage
        pass

    def stop(self) -> None:
        pass

    def restartable(self) -> bool:
        return False

    def remove(self) -> None:
        pass


def docker_engine_answers() -> bool:
    try:
        import docker  # testcontainers' dependency

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means no usable engine
        return False


def start_kafka():
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return ExternalServer(
            external,
            os.environ.get("INVOICESYNC_KAFKA_USERNAME", ""),
            os.environ.get("INVOICESYNC_KAFKA_PASSWORD", ""),
            os.environ.get("KAFKA_ADMIN_PASSWORD", ""),
        )
    if docker_engine_answers():
        return _kafka_container()
    data_dir = Path(tempfile.mkdtemp(prefix="invoicesync-kafka-"))
    port, controller_port = free_port(), free_port()
    password, admin_password = secrets.token_hex(16), secrets.token_hex(16)
    server = ScriptServer(
        KAFKA_SCRIPT,
        {
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller_port),
            "KAFKA_DATA_DIR": str(data_dir),
            "KAFKA_ADMIN_PASSWORD": admin_password,
            "KAFKA_USERS": f"{KAFKA_APP_USER}={password}",
        },
        f"127.0.0.1:{port}",
        data_dir,
        username=KAFKA_APP_USER,
        password=password,
        admin_password=admin_password,
    )
    server.start()
    return server


@contextmanager
def restartable_redis() -> Iterator[ScriptServer | ExternalServer]:
    """A Redis server of the caller's own, which it may stop and start; the test is skipped
    where none can be started, as it is for the session's."""
    try:
        server = start_redis()
    except Exception as exc:  # noqa: BLE001 - no server here: the same skip as the session's
        pytest.skip(f"no Redis server could be started: {exc}")
    if not server.restartable():
        server.remove()
        pytest.skip("the Redis server is not ours to stop")
    try:
        yield server
    finally:
        server.remove()


def kafka_settings(server) -> dict[str, str]:
    """The Settings fields that reach `server` as the services' user."""
    return {
        "kafka_bootstrap_servers": server.address,
        "kafka_username": server.username,
        "kafka_password": server.password,
    }


def kafka_environment(settings) -> dict[str, str]:
    """The Kafka part of `settings` as the environment a service process reads it from."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "INVOICESYNC_KAFKA_USERNAME": settings.kafka_username,
        "INVOICESYNC_KAFKA_PASSWORD": settings.kafka_password,
    }


def start_redis():
    external = os.environ.get("REDIS_URL")
    if external:
        return ExternalServer(external)
    data_dir = Path(tempfile.mkdtemp(prefix="invoicesync-redis-"))
    port = free_port()
    password = secrets.token_hex(16)
    server = ScriptServer(
        REDIS_SCRIPT,
        {"REDIS_PORT": str(port), "REDIS_DATA_DIR": str(data_dir), "REDIS_PASSWORD": password},
        f"redis://:{password}@127.0.0.1:{port}/0",
        data_dir,
    )
    server.start()
    return server


def _kafka_container():
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    host_port = free_port()

    class _Container:
        # This container's listener is open (no users); clients connect without credentials.
        username = password = admin_password = ""

        def __init__(self) -> None:
            self.address = f"localhost:{host_port}"
            self._container = (
                DockerContainer(KAFKA_IMAGE)
                .with_bind_ports(9092, host_port)
                .with_env("KAFKA_NODE_ID", "1")
                .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
                .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
                .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://localhost:{host_port}")
                .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
                .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
                .with_env(
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                    "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                )
                .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
                .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
                .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
                .with_env("CLUSTER_ID", uuid.uuid4().hex[:22])
            )

        def start(self) -> None:
            self._container.start()
            wait_for_logs(self._container, "Kafka Server started", timeout=120)

        def stop(self) -> None:
            self._container.stop()

        def restartable(self) -> bool:
            return False

        def remove(self) -> None:
            self._container.stop()

    container = _Container()
    container.start()
    return container
