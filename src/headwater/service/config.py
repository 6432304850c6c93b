"""Service settings: identity, limits and state-transition delays."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater.service.limits import LimitsPolicy


@dataclass(frozen=True)
class ServiceConfig:
    region: str = "us-east-1"
    account_id: str = "000000000000"
    limits: LimitsPolicy = field(default_factory=LimitsPolicy)
    # Stream state delays (AWS takes seconds; 0 keeps tests and local use fast).
    create_delay_ms: int = 0
    delete_delay_ms: int = 0
    update_delay_ms: int = 0
    consumer_delay_ms: int = 0
    # Account quotas, as DescribeLimits reports them.
    shard_limit: int = 20_000
    on_demand_stream_limit: int = 50
    on_demand_default_shards: int = 4
    # On-demand scaling: a shard writing above ``split_threshold`` of its limit for
    # ``sustain_s`` is split; adjacent shards below ``merge_threshold`` for ``merge_after_s``
    # are merged, never below ``min_shards``.
    on_demand_interval_s: float = 1.0
    on_demand_split_threshold: float = 0.8
    on_demand_sustain_s: float = 5.0
    on_demand_merge_threshold: float = 0.1
    on_demand_merge_after_s: float = 300.0
    on_demand_min_shards: int = 4
    on_demand_max_shards: int = 200
    # Local AES-256 keys by KMS key id/alias (``--kms-keys``); alias/aws/kinesis always exists.
    kms_keys: dict[str, bytes] = field(default_factory=dict)
    # How often retention trimming and deferred deletions run.
    housekeeping_interval_s: float = 30.0

    @property
    def effective_shard_limit(self) -> int:
        """With limits lifted the shard quota is only a guard against absurd requests."""
        return self.shard_limit if self.limits.enabled else max(self.shard_limit, 1_000_000)

    def stream_arn(self, name: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{name}"
