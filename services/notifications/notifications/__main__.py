"""`python -m notifications [both|consume|send]`: queue sync results, send the emails."""

from __future__ import annotations

import argparse
import signal
import threading

from invoicesync.kafka.topics import ensure_topics
from invoicesync.logging import configure_logging
from invoicesync.metrics import serve_metrics
from invoicesync.settings import Settings
from invoicesync.stores.locks import Lease
from invoicesync.stores.redis_connection import redis_from_settings
from invoicesync.stores.tenants import TenantStore
from notifications.mail import SmtpMailer
from notifications.notification_outbox import NotificationOutbox
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

    stop = threading.Event()
    consumer = None
    consumer_thread = None
    if role in ("both", "consume"):
        ensure_topics(settings)
        consumer = build_consumer_loop(settings, client)
        consumer_thread = threading.Thread(
            target=consumer.run, kwargs={"install_signal_handlers": False}, name="outbox-consumer"
        )

    def request_stop(*_: object) -> None:
        stop.set()
        if consumer is not None:
            consumer.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if consumer_thread is not None:
        consumer_thread.start()
    try:
        if role in ("both", "send"):
            outbox = NotificationOutbox(client)
            sender = NotificationSender(
                settings, outbox, TenantStore(client), SmtpMailer(settings), options
            )
            SenderLoop(sender, Lease(client, SENDER_LEASE, options.lease_seconds), options).run(
                stop
            )
        else:
            stop.wait()
    finally:
        request_stop()
        if consumer_thread is not None:
            consumer_thread.join()


if __name__ == "__main__":
    main()
