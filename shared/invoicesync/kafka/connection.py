"""The one place the connection part of every Kafka client's configuration is made: where the
broker is and how this service authenticates to it."""

from __future__ import annotations

from typing import Any

from invoicesync.settings import Settings

SASL_MECHANISM = "SCRAM-SHA-512"


def kafka_connection(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for KafkaProducer, KafkaConsumer and KafkaAdminClient alike:
    `KafkaConsumer(topic, **kafka_connection(settings), group_id=...)`."""
    config: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    if settings.kafka_username:
        config |= {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": settings.kafka_username,
            "sasl_plain_password": settings.kafka_password,
        }
    return config
