"""Kafka mechanics: the topic registry, the one publisher and the one consumer loop."""
