"""Resource policies: stored per stream/consumer and enforced for the keys the server knows."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.server import HeadwaterServer

CREDENTIALS = """
[alice]
aws_access_key_id = AKIDALICE
aws_secret_access_key = alice-secret

[bob]
aws_access_key_id = AKIDBOB
aws_secret_access_key = bob-secret
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("policies")
    credentials = root / "credentials"
    credentials.write_text(CREDENTIALS)
    running = HeadwaterServer(root / "data", "--credentials", str(credentials)).start()
    yield running
    running.stop()


def _client(server, user: str):
    key = {"alice": ("AKIDALICE", "alice-secret"), "bob": ("AKIDBOB", "bob-secret")}[user]
    return server.client(aws_access_key_id=key[0], aws_secret_access_key=key[1])


def _deny(principal: str, action: str, resource: str) -> str:
    statement = {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_deny_statement_blocks_only_the_named_user_and_action(server):
    alice, bob = _client(server, "alice"), _client(server, "bob")
    alice.create_stream(StreamName="guarded", ShardCount=1)
    arn = alice.describe_stream_summary(StreamName="guarded")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    policy = _deny({"AWS": "arn:aws:iam::000000000000:user/bob"}, "kinesis:Put*", arn)
    alice.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert json.loads(alice.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(policy)

    with pytest.raises(ClientError) as caught:
        bob.put_record(StreamName="guarded", Data=b"x", PartitionKey="k")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "arn:aws:iam::000000000000:user/bob" in error["Message"]
    assert "kinesis:PutRecord" in error["Message"]
    assert (
        _code(
            lambda: bob.put_records(
                StreamName="guarded", Records=[{"Data": b"x", "PartitionKey": "k"}]
            )
        )
        == "AccessDeniedException"
    )
    alice.put_record(StreamName="guarded", Data=b"x", PartitionKey="k")
    assert bob.describe_stream_summary(StreamName="guarded")  # other actions stay allowed

    alice.delete_resource_policy(ResourceARN=arn)
    bob.put_record(StreamName="guarded", Data=b"y", PartitionKey="k")


def test_wildcard_principal_and_reads_through_iterators(server):
    alice = _client(server, "alice")
    alice.create_stream(StreamName="readonly", ShardCount=1)
    arn = alice.describe_stream_summary(StreamName="readonly")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    iterator = alice.get_shard_iterator(
        StreamName="readonly", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    alice.put_resource_policy(ResourceARN=arn, Policy=_deny("*", "kinesis:GetRecords", "*"))
    assert _code(lambda: alice.get_records(ShardIterator=iterator)) == "AccessDeniedException"


def test_unsupported_or_malformed_policies_are_refused(server):
    alice = _client(server, "alice")
    alice.create_stream(StreamName="strict", ShardCount=1)
    arn = alice.describe_stream_summary(StreamName="strict")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    with_condition = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kinesis:*",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ]
        }
    )
    for bad in ("not json", '{"Statement": []}', with_condition):
        code = _code(lambda bad=bad: alice.put_resource_policy(ResourceARN=arn, Policy=bad))
        assert code == "InvalidArgumentException"
    assert _code(lambda: alice.delete_resource_policy(ResourceARN=arn)) == (
        "ResourceNotFoundException"
    )
