"""The platform layer every process shares: settings, API keys, Kafka topics, partitioning rule."""
