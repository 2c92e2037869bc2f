"""A local SMTP sink for `make up`: every message that arrives is kept as a .eml file to read.

    python deploy/local/smtp_sink.py [--port 1025] [--dir var/mail]

Each message lands in `var/mail/` as `<UTC time>-<recipient>.eml` (plain RFC 5322 text: open it
in a text editor or any mail client); nothing is relayed anywhere.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

_UNSAFE = re.compile(r"[^A-Za-z0-9@._-]+")


class MailFolderHandler:
    """aiosmtpd handler writing each accepted message to a file of its own."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        with self._lock:
            self._count += 1
            number = self._count
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        recipient = _UNSAFE.sub("_", envelope.rcpt_tos[0] if envelope.rcpt_tos else "nobody")
        path = self._folder / f"{stamp}-{number:05d}-{recipient}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        subject = message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"]
        print(f"{stamp} to {','.join(envelope.rcpt_tos)}: {subject} -> {path}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("INVOICESYNC_SMTP_PORT", "1025"))
    )
    parser.add_argument("--dir", default="var/mail", help="where messages are written")
    arguments = parser.parse_args()
    controller = Controller(
        MailFolderHandler(Path(arguments.dir)), hostname=arguments.host, port=arguments.port
    )
    controller.start()
    where = f"{arguments.host}:{arguments.port}"
    print(f"SMTP sink on {where}, writing to {arguments.dir}/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
