"""Shard readers: polling (GetRecords) and enhanced fan-out (SubscribeToShard)."""
