"""A QBO sandbox with its limits off, and a publisher for the writer's id-map topic."""

from __future__ import annotations

import pytest

from invoicesync.kafka.publisher import Publisher
from tests.integration.qbo_writer.qbo_sandbox import QboSandbox, qbo_sandbox


@pytest.fixture
def sandbox(settings):
    with qbo_sandbox(settings) as running:
        running.set_limits(False)
        yield running


@pytest.fixture
def publisher(sandbox: QboSandbox):
    ledger = Publisher(sandbox.settings)
    yield ledger
    ledger.close()
