"""Sources: MQTT bridge, HTTP ingest and simulators that feed Kinesis streams.

Every source writes through ``headwater.client.Producer`` and so works against Headwater or
AWS Kinesis alike. See docs/sources.md.
"""
