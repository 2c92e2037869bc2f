"""How every long-running consumer process starts: settings, logging, topics, then its loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from invoicesync.kafka.topics import ensure_topics
from invoicesync.logging import configure_logging
from invoicesync.metrics import serve_metrics
from invoicesync.settings import Settings


class Runnable(Protocol):
    def run(self) -> None: ...


def run_service(name: str, build: Callable[[Settings], Runnable]) -> None:
    settings = Settings.from_env()
    configure_logging(name, settings.log_level)
    serve_metrics(settings)
    ensure_topics(settings)
    build(settings).run()
