"""`python -m notifications [both|consume|send]`: queue sync results, send the emails.

`both` (the default) runs the sender as a periodic task of the outbox consumer's loop; `send`
runs the sender alone, for a process that does not consume.
"""

from __future__ import annotations

import argparse
import signal
import threading

from invoicesync.clients.smtp_mail import SmtpMailer
from invoicesync.kafka.topics import ensure_topics
from invoicesync.logging import configure_logging
from invoicesync.metrics import serve_metrics
from invoicesync.settings import Settings
from invoicesync.stores.locks import Lease
from invoicesync.stores.monthly_reports import MonthlyReports
from invoicesync.stores.notification_outbox import NotificationOutbox
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from notifications.options import NotificationOptions
from notifications.outbox_consumer import build_consumer_loop
from notifications.sender import SENDER_LEASE, NotificationSender, SenderLoop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notifications")
    parser.add_argument("role", nargs="?", choices=("both", "consume", "send"), default="both")
    role = parser.parse_args(argv).role
    settings = Settings.from_env()
    options = NotificationOptions.from_env()
    configure_logging("notifications", settings.log_level)
    serve_metrics(settings)
    client = redis_from_settings(settings)
    sender = SenderLoop(
        NotificationSender(
            settings,
            NotificationOutbox(client),
            TenantStore(client),
            SmtpMailer(settings),
            options,
            monthly_reports=MonthlyReports(client),
        ),
        Lease(client, SENDER_LEASE, options.lease_seconds),
        options,
    )
    if role == "send":
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        sender.run(stop)
        return
    ensure_topics(settings)
    tasks = [sender.as_task()] if role == "both" else []
    build_consumer_loop(settings, client, periodic=tasks).run()  # it handles SIGTERM


if __name__ == "__main__":
    main()
