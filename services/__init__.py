"""Vitals: event-streaming customer health scoring (temperature, health, risk) on Kafka."""

__version__ = "0.1.0"
