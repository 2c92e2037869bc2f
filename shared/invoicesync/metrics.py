"""Prometheus metrics shared by every service (prometheus-client: the standard exposition)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from invoicesync.settings import Settings

MESSAGES_HANDLED = Counter(
    "invoicesync_messages_handled_total",
    "Messages a consumer loop finished, by topic and outcome",
    ["topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "invoicesync_handler_seconds", "Time spent handling one message", ["topic"]
)
MESSAGES_PUBLISHED = Counter(
    "invoicesync_messages_published_total", "Messages acknowledged by the broker", ["topic"]
)
PROVIDER_CALLS = Counter(
    "invoicesync_provider_calls_total", "HTTP calls to a provider API", ["provider", "status"]
)
CONSUMER_LAG = Gauge(
    "invoicesync_consumer_lag", "Messages behind the end of the partition", ["group", "topic"]
)


def serve_metrics(settings: Settings) -> None:
    """Expose /metrics for a process without an HTTP app of its own (the consumers), when
    `INVOICESYNC_METRICS_PORT` gives it a port; the HTTP services serve /metrics themselves."""
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
