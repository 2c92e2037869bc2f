"""The QBO sandbox every QBO writer test can use: served on a free port, rate limits off."""

from __future__ import annotations

import pytest

from tests.integration.qbo_writer.qbo_sandbox import qbo_sandbox


@pytest.fixture
def sandbox(settings):
    with qbo_sandbox(settings) as running:
        running.set_limits(False)
        yield running
