"""Headwater's benchmark suite: Headwater against kinesalite, moto and a no-op ceiling.

Run everything with ``bench/run`` (or ``python -m bench.run``); each measurement module
(``bench.ingest``, ``bench.drain``, ``bench.latency``, ``bench.footprint``) also runs alone.
"""
