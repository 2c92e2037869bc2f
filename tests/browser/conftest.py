"""The running stack for the console's browser tests: the admin app with the console, the
sandbox providers, transform, both writers, the activity consumer and the backfill runner,
on free ports over the test's own Kafka topics and Redis; and headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from admin.activity_consumer import activity_loop
from admin.admin_services import AdminServices
from admin.app import create_app
from ingest.backfill_runner import BackfillRunner
from invoicesync.crypto import generate_key
from invoicesync.settings import Settings
from invoicesync_sandbox.core.tokens import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from invoicesync_sandbox.keap.app import create_app as create_keap_app
from invoicesync_sandbox.qbo.app import create_app as create_qbo_app
from invoicesync_sandbox.xero.app import create_app as create_xero_app
from qbo_writer.main import build_loop as qbo_writer_loop
from tests.integration.stores.local_servers import serving
from tests.integration.transform.keap_stand_in import KeapStandIn
from tests.waiting import DEADLINE_SECONDS
from transform.main import build_loop as transform_loop
from xero_writer.main import build_loop as xero_writer_loop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(config, items) -> None:
    if Path(CHROMIUM).exists() or os.environ.get("CI") == "true":
        return  # under CI a missing browser fails the tests loudly instead
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install -y chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@dataclass
class ConsoleStack:
    url: str
    settings: Settings
    services: AdminServices
    keap: KeapStandIn


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving_on(app, port: int) -> Iterator[None]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def _running(loop) -> Iterator[None]:
    thread = threading.Thread(target=lambda: loop.run(install_signal_handlers=False), daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.stop()
        thread.join(timeout=15)


@contextmanager
def _backfill_runner(settings: Settings, services: AdminServices) -> Iterator[None]:
    runner = BackfillRunner.from_settings(settings, services.redis)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)
        runner.close()


def _provider_settings(settings: Settings, keap: str, xero: str, qbo: str, admin: str) -> Settings:
    demo = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
    return replace(
        settings,
        token_encryption_key=generate_key(),
        public_base_url=admin,
        keap_api_base=f"{keap}/crm",
        keap_authorize_url=f"{keap}/app/oauth/authorize",
        keap_token_url=f"{keap}/token",
        xero_api_base=xero,
        xero_authorize_url=f"{xero}/identity/connect/authorize",
        xero_token_url=f"{xero}/connect/token",
        qbo_api_base=qbo,
        qbo_authorize_url=f"{qbo}/connect/oauth2",
        qbo_token_url=f"{qbo}/oauth2/v1/tokens/bearer",
        **{
            f"{provider}_{name}": value
            for provider in ("keap", "xero", "qbo")
            for name, value in demo.items()
        },
    )


@pytest.fixture
def console_stack(settings, redis_client) -> Iterator[ConsoleStack]:
    with ExitStack() as stack:
        keap = stack.enter_context(serving(create_keap_app()))
        xero = stack.enter_context(serving(create_xero_app()))
        qbo = stack.enter_context(serving(create_qbo_app()))
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        stack_settings = _provider_settings(settings, keap, xero, qbo, url)
        services = AdminServices.from_settings(stack_settings, publish_timeout_seconds=5)
        stack.callback(services.close)
        stack.enter_context(_serving_on(create_app(stack_settings, services), port))
        for loop in (
            transform_loop(stack_settings),
            xero_writer_loop(stack_settings),
            qbo_writer_loop(stack_settings),
            activity_loop(stack_settings),
        ):
            stack.enter_context(_running(loop))
        stack.enter_context(_backfill_runner(stack_settings, services))
        yield ConsoleStack(
            url, stack_settings, services, KeapStandIn(keap, stack_settings, redis_client)
        )


@pytest.fixture
def page(tmp_path):
    """A fresh Chromium profile per test: no cookies carried over."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (CI=true requires it): apt-get install -y chromium")
    profile = tmp_path / "chromium-profile"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        # What the page waits for is the pipeline's work: as long as any other test's wait.
        context.set_default_timeout(DEADLINE_SECONDS * 1000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
