"""The notification knobs read from the environment, and the backoff they give."""

from __future__ import annotations

import pytest

from invoicesync.settings import SettingsError
from notifications.options import NotificationOptions


def test_knobs_come_from_invoicesync_notify_variables_with_defaults_for_the_rest():
    options = NotificationOptions.from_env(
        {"INVOICESYNC_NOTIFY_WINDOW_SECONDS": "120", "INVOICESYNC_NOTIFY_TICK_SECONDS": "2"}
    )

    assert options.window_seconds == 120.0
    assert options.tick_seconds == 2.0
    assert options.lease_seconds == NotificationOptions().lease_seconds


@pytest.mark.parametrize(
    "environ",
    [{"INVOICESYNC_NOTIFY_TICK_SECONDS": "often"}, {"INVOICESYNC_NOTIFY_WINDOW_SECONDS": "soon"}],
)
def test_values_the_sender_cannot_run_with_are_refused(environ):
    with pytest.raises(SettingsError):
        NotificationOptions.from_env(environ)


def test_the_retry_delay_doubles_per_failure_up_to_its_cap():
    options = NotificationOptions(retry_base_seconds=10, retry_max_seconds=50)

    assert [options.retry_delay(n) for n in range(1, 6)] == [10, 20, 40, 50, 50]
