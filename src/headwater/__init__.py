"""Headwater: a self-hosted, Kinesis-compatible streaming platform."""

__version__ = "0.1.0"
