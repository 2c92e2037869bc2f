"""deploy/redis/redis.sh start on a grown dataset: Redis answers PING with LOADING while it reads
its append-only file, and the script must wait that out rather than kill the server."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from tests.infrastructure import REDIS_SCRIPT, free_port

# Enough SETs that loading outlasts the script's first PINGs (measured here: 0.7 s idle, 1.7 s
# busy, 0.2 s to the first PING); the file is ~22 MB and written in about a second.
KEYS = 400_000
VALUE = b"v" * 16


@pytest.fixture(autouse=True)
def redis_server_installed() -> None:
    """The script installs Debian's redis-server on a fresh machine; so does this test, rather
    than skipping because collection ran before the run's own Redis was installed."""
    if shutil.which("redis-server") is None:
        installed = subprocess.run(
            ["bash", str(REDIS_SCRIPT), "install"], capture_output=True, text=True, timeout=600
        )
        if installed.returncode != 0 and not os.environ.get("CI"):
            pytest.skip(f"redis-server could not be installed: {installed.stderr[-500:]}")
        assert installed.returncode == 0, installed.stderr


def write_append_only_file(path: Path, keys: int) -> None:
    """An old-style single append-only file of SET commands; Redis 7 migrates it on start."""
    value = b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)
    path.write_bytes(
        b"".join(b"*3\r\n$3\r\nSET\r\n$12\r\nkey:%08d\r\n%s" % (i, value) for i in range(keys))
    )


def run_script(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REDIS_SCRIPT), command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=700,
    )


def test_start_waits_while_redis_loads_a_large_append_only_file(tmp_path):
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    write_append_only_file(data_dir / "appendonly.aof", KEYS)
    port = free_port()
    password = secrets.token_hex(16)
    env = {"REDIS_PORT": str(port), "REDIS_DATA_DIR": str(data_dir), "REDIS_PASSWORD": password}
    try:
        started = run_script("start", env)
        output = f"{started.stdout}\n{started.stderr}"
        print(output)
        assert started.returncode == 0, output
        # The wait was really exercised: otherwise this test would prove nothing.
        assert "is loading its append-only file" in started.stdout, output
        assert "loaded its data" in started.stdout, output

        status = run_script("status", env)
        assert status.returncode == 0, status.stdout
        pid = int(status.stdout.split()[-1])
        client = redis.Redis(port=port, password=password)
        try:
            assert client.ping()
            assert client.dbsize() == KEYS
            assert client.info("server")["process_id"] == pid
        finally:
            client.close()
        print(f"redis.sh start waited out loading {KEYS} keys; server {pid} kept")
    finally:
        run_script("stop", env)
