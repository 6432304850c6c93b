#!/usr/bin/env python
"""A stand-in for an amazon_kclpy processor that speaks the MultiLangDaemon protocol itself.

Used where amazon_kclpy is not installed (its setup downloads jars from Maven). Same
behaviour as ``kclpy_sample.py``: records go to $KCL_SAMPLE_OUTPUT, checkpoint per batch,
at shard end and on shutdown request. Every message is answered with a status line.
"""

import base64
import json
import os
import sys


def send(message):
    sys.stdout.write("\n" + json.dumps(message) + "\n")
    sys.stdout.flush()


def checkpoint(sequence=None, sub_sequence=None):
    send({"action": "checkpoint", "sequenceNumber": sequence, "subSequenceNumber": sub_sequence})
    reply = json.loads(sys.stdin.readline())
    if reply.get("action") != "checkpoint" or reply.get("error"):
        sys.stderr.write(f"checkpoint failed: {reply}\n")


def main():
    shard_id = None
    for line in sys.stdin:
        message = json.loads(line)
        action = message["action"]
        if action == "initialize":
            shard_id = message["shardId"]
        elif action == "processRecords":
            last = None
            with open(os.environ["KCL_SAMPLE_OUTPUT"], "a") as out:
                for record in message["records"]:
                    data = base64.b64decode(record["data"]).decode()
                    out.write(
                        f"{shard_id} {record['sequenceNumber']} {record['subSequenceNumber']} "
                        f"{record['partitionKey']} {data}\n"
                    )
                    last = record
            if last is not None:
                checkpoint(last["sequenceNumber"], last["subSequenceNumber"])
        elif action in ("shardEnded", "shutdownRequested"):
            checkpoint()
        send({"action": "status", "responseFor": action})


if __name__ == "__main__":
    main()
