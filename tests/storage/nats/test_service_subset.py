"""A representative part of the boto3 integration suite, on NATS storage, in every run.

The tests are the suite's own (imported, not copied), so both backends answer to the same
expectations; ``HEADWATER_TEST_STORAGE=nats pytest tests/server`` runs all of them on NATS.
"""

from __future__ import annotations

from tests.server.test_records_api import (  # noqa: F401 - collected by pytest
    clock_kinesis,
    clock_server,
    test_at_and_after_sequence_number,
    test_at_timestamp_starts_at_the_first_record_arriving_then_or_later,
    test_latest_sees_only_records_put_after_it,
    test_limit_caps_each_read_and_next_iterators_read_everything_exactly_once,
    test_millis_behind_latest_is_zero_once_caught_up_and_positive_before,
    test_put_records_of_500_returns_results_in_request_order_across_shards,
    test_put_records_of_exactly_five_mib_is_accepted,
    test_trim_horizon_starts_at_the_oldest_record,
)
from tests.server.test_records_roundtrip import (  # noqa: F401
    test_records_come_back_in_order_with_their_sequence_numbers,
)
from tests.server.test_resharding import (  # noqa: F401
    own_kinesis,
    own_server,
    test_get_records_on_a_split_parent_ends_without_iterator_and_lists_children,
    test_merge_closes_both_parents_and_the_child_names_them,
    test_split_and_merge_under_concurrent_writes_lose_nothing_and_keep_key_order,
    test_split_closes_the_parent_and_creates_two_children_above_it,
)
from tests.server.test_streams_api import (  # noqa: F401
    test_create_stream_answers_with_empty_body_and_makes_an_active_stream,
    test_deleted_stream_is_gone_and_its_name_reusable,
)
from tests.server.test_subscribe_boto3 import (  # noqa: F401
    fan_out,
    test_a_subscription_to_a_shard_that_is_split_ends_with_child_shards,
    test_records_put_after_subscribing_arrive_within_50_ms_at_the_median,
)
