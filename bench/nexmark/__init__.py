"""Nexmark on the continuous SQL engine: events/s per core per query, beside Flink's figures.

``python -m bench.nexmark`` (or ``bench/nexmark/run``); see bench/README.md, section Nexmark.
"""
