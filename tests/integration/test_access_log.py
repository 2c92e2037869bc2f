"""gunicorn's access log, with the project's own configuration, in front of the admin app: the
Keap hook token in a path and OAuth codes and states in a query string never reach it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from invoicesync.crypto import generate_key
from tests.infrastructure import REPO, free_port, kafka_environment
from tests.waiting import eventually

pytestmark = pytest.mark.infra

SECRETS = ("hooktoken0123456789abcdefSECRET", "oauthcodeSECRET42", "oauthstateSECRET42")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_hook_tokens_and_oauth_codes_never_reach_the_access_log(settings, tmp_path: Path):
    port = free_port()
    env = os.environ | {
        **kafka_environment(settings),
        "REDIS_URL": settings.redis_url,
        "INVOICESYNC_TOKEN_ENCRYPTION_KEY": generate_key(),
        "INVOICESYNC_HTTP_WORKERS": "1",
    }
    log_path = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                str(gunicorn),
                "-c",
                "deploy/gunicorn.conf.py",
                "-b",
                f"127.0.0.1:{port}",
                "admin.app:create_app()",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(f"{base}/healthz"), "gunicorn to serve the admin app")
        requests.get(f"{base}/hooks/keap/{SECRETS[0]}", timeout=5)
        requests.get(
            f"{base}/api/v1/oauth/xero/callback",
            params={"code": SECRETS[1], "state": SECRETS[2], "scope": "openid"},
            headers={"Referer": f"{base}/x?code={SECRETS[1]}"},
            timeout=5,
        )
        eventually(
            lambda: "/api/v1/oauth/xero/callback" in log_path.read_text(), "the access log line"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    logged = log_path.read_text()
    assert "/hooks/keap/" in logged and "scope=openid" in logged
    for secret in SECRETS:
        assert secret not in logged
