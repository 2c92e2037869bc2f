"""The whole system as separate OS processes, the way `make up` runs it: every row of
`deploy/local/processes.tsv` on free ports, configured like `deploy/local/sandbox.env`, over the
test run's Kafka (topics behind a unique prefix) and a Redis database of its own."""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import shlex
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import requests

from invoicesync.crypto import generate_key
from invoicesync.kafka.access import broker_user, provision
from invoicesync.kafka.topics import ensure_topics
from invoicesync.settings import Settings
from invoicesync_sandbox.developer_portal import (
    LedgerWebhookTargets,
    new_webhook_secrets,
    register_ledger_webhooks,
)
from tests.infrastructure import REPO, free_port, kafka_environment, kafka_settings
from tests.waiting import DEADLINE_SECONDS

PROCESSES_TSV = REPO / "deploy" / "local" / "processes.tsv"
SANDBOX_ENV = REPO / "deploy" / "local" / "sandbox.env"
VENV_BIN = REPO / ".venv" / "bin"
# No mail in these runs: tenants name no notification address, so nothing would be sent.
LEFT_OUT = frozenset({"smtp-sink", "notifications"})
# FLUSHDB in a test must not reach data other tests keep in database 0.
STACK_REDIS_DB = 9
READY_TIMEOUT_SECONDS = DEADLINE_SECONDS
CONSUMER_STARTED = "consumer loop started"
METRICS_PORT = re.compile(r"INVOICESYNC_METRICS_PORT=\d+")
# ReverseSync's payment poll, shortened from its 300 s default so a test can watch a ledger
# payment arrive by the poll alone; longer than the 5 s a webhook is allowed, so a payment that
# arrives within 5 s of a poll came by its webhook.
REVERSE_SYNC_POLL_SECONDS = 8


class StackFailure(RuntimeError):
    """A process of the stack did not come up, or did not go away."""


@dataclass(frozen=True)
class ProcessSpec:
    """One row of processes.tsv, with this stack's port and command."""

    name: str
    module: str
    port: int | None
    kafka_user: str | None  # the service's own Kafka user (invoicesync/kafka/access.py)
    command: str

    @property
    def http_probe(self) -> str | None:
        if self.port is None:
            return None
        path = "/_sandbox/healthz" if self.name.startswith("sandbox-") else "/readyz"
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class StackProcess:
    spec: ProcessSpec
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            # A session (process group) of its own: gunicorn's workers go down with it.
            self.popen = subprocess.Popen(
                shlex.split(self.spec.command),
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS, *, since: int = 0) -> None:
        """HTTP processes answer their probe; consumers log that their loop started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StackFailure(f"{self.name} exited:\n{self.log_tail()}")
            if self._ready(since):
                return
            time.sleep(0.1)
        raise StackFailure(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def _ready(self, since: int) -> bool:
        probe = self.spec.http_probe
        if probe is not None:
            try:
                return requests.get(probe, timeout=1).status_code == 200
            except requests.RequestException:
                return False
        if self.spec.module.endswith(".poller"):
            return True  # no loop of its own to announce; alive is all it can show
        return CONSUMER_STARTED in self.log_text()[since:]

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing drains, nothing commits."""
        os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def restart(self) -> None:
        since = len(self.log_text())
        self.start()
        self.wait_ready(since=since)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after `grace`, and check it is gone."""
        if self.popen is None:
            return
        group = self.popen.pid
        _signal_group(group, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            self.popen.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _group_exists(group):
            if time.monotonic() > deadline:
                _signal_group(group, signal.SIGKILL)
                time.sleep(0.2)
                if _group_exists(group):
                    raise StackFailure(f"{self.name}: processes of group {group} outlived it")
            time.sleep(0.05)


def _signal_group(group: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Stack:
    """The running system: where each part listens, its settings, and its processes by name."""

    settings: Settings
    env: dict[str, str]
    processes: dict[str, StackProcess]
    operator_key: str
    log_dir: Path
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def admin_url(self) -> str:
        return self.urls["admin"]

    @property
    def keap_url(self) -> str:
        return self.urls["sandbox-keap"]

    @property
    def xero_url(self) -> str:
        return self.urls["sandbox-xero"]

    @property
    def qbo_url(self) -> str:
        return self.urls["sandbox-qbo"]

    @property
    def ledger_webhooks(self) -> LedgerWebhookTargets:
        """Where `deploy/local/stack.sh` points the stand-ins' webhooks, with this run's keys."""
        return LedgerWebhookTargets.from_env(self.env)

    def process(self, name: str) -> StackProcess:
        return self.processes[name]

    def log_tails(self, lines: int = 30) -> str:
        return "\n\n".join(
            f"===== {process.name} (pid {process.popen.pid if process.popen else '-'}, "
            f"{'running' if process.alive() else 'exited'}) =====\n{process.log_tail(lines)}"
            for process in self.processes.values()
        )

    @contextmanager
    def scaled_out(self, name: str, count: int) -> Iterator[list[StackProcess]]:
        """`count` replicas of the consumer `name` in its group: the stack's own (restarted if
        it is not running) and `count - 1` more, <name>-2 onwards, each ready; yields them all.
        Afterwards the added ones are stopped and the stack's own runs again."""
        own = self.processes[name]
        added = [
            StackProcess(spec, own.env, self.log_dir / f"{spec.name}.log")
            for spec in replica_specs(own.spec, count - 1, first=2)
        ]
        since = {process.name: 0 for process in added}
        try:
            for process in added:
                self.processes[process.name] = process
                process.start()
            if not own.alive():
                since[own.name] = len(own.log_text())
                own.start()
            for process in [own, *added]:
                process.wait_ready(since=since.get(process.name, 0))
            yield [own, *added]
        finally:
            for process in added:
                process.stop()
                del self.processes[process.name]
            if not own.alive():
                own.restart()

    def check_all_alive(self) -> None:
        dead = [process.name for process in self.processes.values() if not process.alive()]
        if dead:
            raise StackFailure(f"exited: {', '.join(dead)}\n{self.log_tails()}")

    def lift_ledger_limits(self) -> None:
        """The Xero and QBO stand-ins' per-organisation limits off: they would also count the
        tests' own reads (throttling is covered by the writers' own tests)."""
        for url in (self.xero_url, self.qbo_url):
            requests.put(f"{url}/_sandbox/limits", json={"enabled": False}, timeout=5)


def replicable(spec: ProcessSpec) -> bool:
    """A consumer of a group, as deploy/local/stack.sh decides: no port of its own, a /metrics
    port in its command, not the poller (which walks every tenant itself)."""
    return (
        spec.port is None
        and METRICS_PORT.search(spec.command) is not None
        and not spec.module.endswith(".poller")
    )


def replica_specs(spec: ProcessSpec, count: int, first: int = 1) -> list[ProcessSpec]:
    """`count` copies of a consumer, <name>-<first> onwards, each with a /metrics port of its own
    (as `make up` names the replicas of INVOICESYNC_REPLICAS_<NAME>)."""
    if not replicable(spec):
        raise ValueError(f"{spec.name} is not a consumer that can run as replicas")
    return [
        replace(
            spec,
            name=f"{spec.name}-{index}",
            command=METRICS_PORT.sub(
                lambda _: f"INVOICESYNC_METRICS_PORT={free_port()}", spec.command
            ),
        )
        for index in range(first, first + count)
    ]


def process_specs(
    ports: dict[str, int], replicas: dict[str, int] | None = None
) -> list[ProcessSpec]:
    """processes.tsv's rows present in this checkout, each moved to the port `ports` names;
    a row `replicas` gives a count above 1 as that many replicas (<name>-1 .. <name>-N)."""
    replicas = replicas or {}
    specs: list[ProcessSpec] = []
    rows: set[str] = set()
    for line in PROCESSES_TSV.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, module, port, kafka_user, command = line.split("\t")
        if name in LEFT_OUT or importlib.util.find_spec(module) is None:
            continue
        command = command.replace("$BIN", str(VENV_BIN))
        new_port = None
        if port != "-":
            new_port = ports.setdefault(name, free_port())
            command = command.replace(port, str(new_port))
        # A consumer's own /metrics port, fixed in the file, moves to a free one too.
        command = METRICS_PORT.sub(lambda _: f"INVOICESYNC_METRICS_PORT={free_port()}", command)
        user = None if kafka_user == "-" else kafka_user
        spec = ProcessSpec(name, module, new_port, user, command)
        rows.add(name)
        count = replicas.get(name, 1)
        specs += [spec] if count == 1 else replica_specs(spec, count)
    unknown = set(replicas) - rows
    if unknown:
        raise ValueError(f"no such process to replicate: {sorted(unknown)}")
    return specs


def stack_environment(
    base: Settings, urls: dict[str, str], ports: dict[str, int]
) -> dict[str, str]:
    """sandbox.env with this stack's addresses, plus the infrastructure and quick retries."""
    default_to_actual = {
        "http://127.0.0.1:8901": urls["sandbox-keap"],
        "http://127.0.0.1:8902": urls["sandbox-xero"],
        "http://127.0.0.1:8903": urls["sandbox-qbo"],
        "http://127.0.0.1:8080": urls["admin"],
        "http://127.0.0.1:8081": urls["ingest"],
        "http://127.0.0.1:8082": urls.get("reverse-sync-webhooks", "http://127.0.0.1:9"),
    }
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("INVOICESYNC_")
        and name not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
    }
    for line in SANDBOX_ENV.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        for default, actual in default_to_actual.items():
            value = value.replace(default, actual)
        env[name] = value
    env |= new_webhook_secrets()  # made once per checkout by stack.sh; once per run here
    env |= {
        **kafka_environment(base),
        "REDIS_URL": base.redis_url,
        "INVOICESYNC_TOPIC_PREFIX": base.topic_prefix,
        "INVOICESYNC_TOPIC_PARTITIONS": str(base.topic_partitions),
        "INVOICESYNC_TOKEN_ENCRYPTION_KEY": base.token_encryption_key,
        "INVOICESYNC_ADMIN_PORT": str(ports["admin"]),
        "INVOICESYNC_INGEST_PORT": str(ports["ingest"]),
        "INVOICESYNC_CONSUMER_BACKOFF_SECONDS": "0.1",
        "INVOICESYNC_CONSUMER_BACKOFF_MAX_SECONDS": "1.0",
        # The poller checks a tenant's Keap hook subscriptions as soon as processing is on.
        "INVOICESYNC_POLL_TICK_SECONDS": "0.5",
        "INVOICESYNC_REVERSE_SYNC_POLL_INTERVAL_SECONDS": str(REVERSE_SYNC_POLL_SECONDS),
        # The tests have Keap's stand-in send each change at once (webhook_delay_seconds 0),
        # not in Keap's 30-60 s batches: many more deliveries than the share is sized for.
        "INVOICESYNC_HOOK_TENANT_BURST": "1000",
        "INVOICESYNC_LOG_LEVEL": "INFO",
        "INVOICESYNC_HTTP_WORKERS": "1",
        "SANDBOX_PUBLIC_URL": urls["sandbox-keap"],
        "PYTHONUNBUFFERED": "1",
    }
    if "reverse-sync-webhooks" in ports:
        env["INVOICESYNC_REVERSE_SYNC_PORT"] = str(ports["reverse-sync-webhooks"])
    return env


def service_credentials(kafka, base: Settings, specs: list[ProcessSpec]) -> dict[str, dict]:
    """Each process's own Kafka user, as `make up` makes them: {process: its environment}.
    The tests' own clients keep the run's all-topics user. A broker from the environment
    without its admin password cannot make users: every process then shares the run's."""
    if not kafka.admin_password:
        return {}
    users = {spec.kafka_user for spec in specs if spec.kafka_user}
    passwords = {user: secrets.token_hex(16) for user in users}
    provision(base, kafka.admin_password, passwords)
    return {
        spec.name: {
            "INVOICESYNC_KAFKA_USERNAME": broker_user(spec.kafka_user, base),
            "INVOICESYNC_KAFKA_PASSWORD": passwords[spec.kafka_user],
        }
        for spec in specs
        if spec.kafka_user
    }


def _stack_settings(kafka, redis_address: str, topic_partitions: int = 3) -> Settings:
    redis_url = redis_address.rsplit("/", 1)[0] + f"/{STACK_REDIS_DB}"
    return Settings(
        **kafka_settings(kafka),
        redis_url=redis_url,
        topic_prefix=f"e2e{uuid.uuid4().hex[:8]}.",
        topic_partitions=topic_partitions,
        token_encryption_key=generate_key(),
        consumer_backoff_seconds=0.1,
        consumer_backoff_max_seconds=1.0,
    )


def _operator_key(env: dict[str, str], key_file: Path) -> str:
    """The operator key the way a developer gets one: `python -m admin.cli dev-key`."""
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "admin.cli", "dev-key", "--file", str(key_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise StackFailure(f"dev-key failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


@contextmanager
def running_stack(
    kafka,
    redis_address: str,
    *,
    extra_env: dict[str, str] | None = None,
    replicas: dict[str, int] | None = None,
    topic_partitions: int = 3,
) -> Iterator[Stack]:
    """Start every process, wait until each is ready, yield; then stop them all and check.
    `kafka` is the broker's server (tests/infrastructure.py): its address and the users.
    `extra_env` overrides settings for this stack only (e.g. a short provider timeout).
    `replicas` runs that many copies of a consumer, as INVOICESYNC_REPLICAS_<NAME> does for
    `make up`: {"xero-writer": 3} starts xero-writer-1 .. xero-writer-3."""
    base = _stack_settings(kafka, redis_address, topic_partitions)
    ensure_topics(base)
    ports: dict[str, int] = {}
    specs = process_specs(ports, replicas)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = stack_environment(base, urls, ports) | (extra_env or {})
    settings = Settings.from_env(env)
    log_dir = Path(tempfile.mkdtemp(prefix="invoicesync-e2e-"))
    credentials = service_credentials(kafka, base, specs)
    processes = {
        spec.name: StackProcess(
            spec, env | credentials.get(spec.name, {}), log_dir / f"{spec.name}.log"
        )
        for spec in specs
    }
    stack = Stack(settings, env, processes, "", log_dir, urls)
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            process.wait_ready()
        if "reverse-sync-webhooks" in processes:
            registered = register_ledger_webhooks(stack.ledger_webhooks)
            if not registered.xero_verified:
                raise StackFailure(f"Xero webhook not verified: {registered.xero}")
        stack.operator_key = _operator_key(env, log_dir / "operator-key")
        yield stack
    except BaseException:
        print(stack.log_tails())
        raise
    finally:
        failures = []
        for process in reversed(list(processes.values())):
            try:
                process.stop()
            except StackFailure as exc:
                failures.append(str(exc))
        if failures:
            raise StackFailure("; ".join(failures))


@pytest.fixture(scope="package", name="stack")
def stack_fixture(kafka_server, redis_server) -> Iterator[Stack]:
    """Import it into a package's conftest to use `stack` there: one stack for the package's
    tests, stopped after its last one (idle, its processes would still load the machine)."""
    with running_stack(kafka_server, redis_server.address) as running:
        yield running
