"""`make up`'s supervision for real: deploy/local/stack.sh up in a copy of the deploy folder with a
var/ of its own, running the sandbox Keap stand-in and transform under supervisord over the test
run's Kafka and Redis, transform as two replicas (INVOICESYNC_REPLICAS_TRANSFORM=2 in the
copy's settings: transform-1 and transform-2, each with its /metrics port). transform-1 is
SIGKILLed and must run again within 10 s with no command; `stack.sh status` must show its
restart and transform-2's none; `stack.sh down` must leave nothing running.

Two rows of processes.tsv, not all fourteen, keep the wall time small (the generation of
supervisord.conf is the same for every row); the Kafka and Redis scripts are replaced by stubs
naming the run's own servers, which the run starts and stops (their scripts have tests of their
own)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.infrastructure import REPO, free_port
from tests.stack import CONSUMER_STARTED
from tests.waiting import eventually

KEPT = ("sandbox-keap", "transform")
REPLICAS = 2
KILLED = "transform-1"
OTHER_REPLICA = "transform-2"
RESTART_DEADLINE_SECONDS = 10.0
# Not database 0 or the e2e stack's 9: the dev-key `up` makes stays out of other tests' way.
REDIS_DB = 12
SERVER_STUB = """#!/usr/bin/env bash
# Stands in for the real script: the server is the test run's, started and stopped by the run.
case "$1" in
start) echo "the test run's server, already running" ;;
stop) echo "the test run's server, left running" ;;
status) echo "running (the test run's)" ;;
esac
"""

pytestmark = pytest.mark.infra


def alive(pid: int) -> bool:
    """As deploy/server_process.sh sees it: a zombie is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def copy_rows(processes: Path, ports: dict[str, int]) -> str:
    rows = []
    for line in processes.read_text().splitlines():
        name, module, port, kafka_user, command = (line.split("\t") + [""] * 5)[:5]
        if name not in KEPT:
            continue
        if port != "-":
            ports[name] = free_port()
            command = command.replace(port, str(ports[name]))
            port = str(ports[name])
        command = re.sub(
            r"INVOICESYNC_METRICS_PORT=\d+", f"INVOICESYNC_METRICS_PORT={free_port()}", command
        )
        rows.append("\t".join([name, module, port, kafka_user, command]))
    assert len(rows) == len(KEPT), rows
    return "\n".join(rows) + "\n"


def sandbox_env(kafka, redis_url: str, keap_url: str) -> str:
    text = (REPO / "deploy/local/sandbox.env").read_text()
    text = text.replace("127.0.0.1:19092", kafka.address)
    text = text.replace("redis://127.0.0.1:16379/0", redis_url)
    text = text.replace("http://127.0.0.1:8901", keap_url)
    # The run's broker's admin, with which `up` makes the copy's service users (behind its
    # topic prefix); Redis's password is in the run's URL already.
    credentials = {
        "KAFKA_ADMIN_PASSWORD": kafka.admin_password,
        "REDIS_PASSWORD": "the-run-s-redis-url-carries-it",
    }
    return (
        text
        + "".join(f"{name}={value}\n" for name, value in credentials.items())
        + (
            f"INVOICESYNC_TOPIC_PREFIX=sup{uuid.uuid4().hex[:8]}.\n"
            "INVOICESYNC_TOPIC_PARTITIONS=1\n"
            f"INVOICESYNC_REPLICAS_TRANSFORM={REPLICAS}\n"
            "INVOICESYNC_LOG_LEVEL=INFO\n"
            "PYTHONUNBUFFERED=1\n"
        )
    )


def clean_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("INVOICESYNC_")
        and name not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
    }


@pytest.fixture
def stack_copy(tmp_path, kafka_server, redis_server) -> Iterator[Path]:
    if not kafka_server.admin_password:
        pytest.skip("the run's broker came without its admin password: no users can be made")
    root = tmp_path / "checkout"
    local = root / "deploy" / "local"
    local.mkdir(parents=True)
    (root / ".venv").symlink_to(REPO / ".venv")
    shutil.copy(REPO / "deploy/server_process.sh", root / "deploy")
    for name in ("stack.sh", "restart_counter.py"):
        shutil.copy(REPO / "deploy/local" / name, local)
    for server in ("kafka", "redis"):
        (root / "deploy" / server).mkdir()
        (root / "deploy" / server / f"{server}.sh").write_text(SERVER_STUB)
    ports: dict[str, int] = {}
    (local / "processes.tsv").write_text(copy_rows(REPO / "deploy/local/processes.tsv", ports))
    redis_url = redis_server.address.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    keap_url = f"http://127.0.0.1:{ports['sandbox-keap']}"
    (local / "sandbox.env").write_text(sandbox_env(kafka_server, redis_url, keap_url))
    try:
        yield root
    finally:
        down = stack(root, "down")
        print(down.stdout, down.stderr)
        supervisord = root / "var/run/supervisord.pid"
        assert not supervisord.exists(), down.stdout
        leftovers = [pid for pid in _pids_running_from(root) if alive(pid)]
        assert not leftovers, f"still running after down: {leftovers}\n{down.stdout}"


def _pids_running_from(root: Path) -> list[int]:
    """Processes whose command line names the copy: supervisord (by its configuration), the
    restart counter and every program (by the copy's .venv)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(root) in cmdline:
                pids.append(int(entry.name))
    return pids


def stack(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(root / "deploy/local/stack.sh"), command],
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def transform_row(root: Path) -> str:
    rows = (root / "deploy/local/processes.tsv").read_text().splitlines()
    return next(row for row in rows if row.startswith("transform\t"))


def status_line(root: Path, name: str) -> str:
    result = stack(root, "status")
    for line in result.stdout.splitlines():
        if line.startswith(f"{name}: "):
            return line
    raise AssertionError(f"no {name} in status:\n{result.stdout}\n{result.stderr}")


def supervised_pid(root: Path, name: str) -> int:
    """supervisord's pid for the program (0 while it has none); given while STARTING too."""
    result = subprocess.run(
        [str(root / ".venv/bin/supervisorctl"), "-c", str(root / "var/run/supervisord.conf")]
        + ["pid", name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(result.stdout.strip()) if result.stdout.strip().isdigit() else 0


def test_a_killed_service_runs_again_within_10_seconds_and_status_shows_the_restart(stack_copy):
    root = stack_copy
    up = stack(root, "up")
    print(up.stdout, up.stderr)
    assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
    before = status_line(root, KILLED)
    assert " RUNNING pid " in before and before.endswith("; restarts 0"), before
    old_pid = int(re.search(r"pid (\d+)", before).group(1))
    assert supervised_pid(root, KILLED) == old_pid
    log = root / "var/log" / f"{KILLED}.log"
    since = len(log.read_text(errors="replace"))

    os.kill(old_pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def running_again() -> int:
        pid = supervised_pid(root, KILLED)
        if pid in (0, old_pid) or not alive(pid):
            return 0
        return pid if CONSUMER_STARTED in log.read_text(errors="replace")[since:] else 0

    new_pid = eventually(
        running_again, f"{KILLED} running again, its loop started", RESTART_DEADLINE_SECONDS
    )
    elapsed = time.monotonic() - killed_at
    assert not alive(old_pid)

    # A dead pid is never shown as running; the restart is counted once it is RUNNING again.
    def restart_shown() -> str:
        line = status_line(root, KILLED)
        return line if " RUNNING " in line and line.endswith("; restarts 1") else ""

    after = eventually(restart_shown, f"{KILLED} RUNNING with one restart in status", 60)
    assert f"pid {new_pid}," in after, after
    assert f"pid {old_pid}," not in after, after
    for name in ("sandbox-keap", OTHER_REPLICA):
        other = status_line(root, name)
        assert " RUNNING " in other and other.endswith("; restarts 0"), other
    # Replica i serves /metrics on the row's port + 100 * (i - 1).
    base = int(re.search(r"INVOICESYNC_METRICS_PORT=(\d+)", transform_row(root))[1])
    for port in (base, base + 100):
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
    print(
        f"{KILLED} SIGKILLed (pid {old_pid}); running again as pid {new_pid} with its loop "
        f"started after {elapsed:.1f} s; status: {after}"
    )
