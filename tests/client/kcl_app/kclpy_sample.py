#!/usr/bin/env python
"""A record processor written the way amazon_kclpy's documentation shows (v3 interface).

It appends each record to the file named by $KCL_SAMPLE_OUTPUT and checkpoints after every
batch, at shard end and when shutdown is requested. It runs unchanged under the Java
MultiLangDaemon or under ``headwater kcl``.
"""

import os
import sys

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self):
        self.shard_id = None
        self.largest = None

    def initialize(self, initialize_input):
        self.shard_id = initialize_input.shard_id
        sys.stderr.write(f"initialize {self.shard_id} at {initialize_input.sequence_number}\n")

    def process_records(self, process_records_input):
        with open(os.environ["KCL_SAMPLE_OUTPUT"], "a") as out:
            for record in process_records_input.records:
                data = record.binary_data.decode()
                out.write(
                    f"{self.shard_id} {record.sequence_number} {record.sub_sequence_number} "
                    f"{record.partition_key} {data}\n"
                )
                self.largest = (record.sequence_number, record.sub_sequence_number)
        if self.largest is not None:
            process_records_input.checkpointer.checkpoint(self.largest[0], self.largest[1])

    def lease_lost(self, lease_lost_input):
        sys.stderr.write(f"lease lost {self.shard_id}\n")

    def shard_ended(self, shard_ended_input):
        shard_ended_input.checkpointer.checkpoint()

    def shutdown_requested(self, shutdown_requested_input):
        shutdown_requested_input.checkpointer.checkpoint()


if __name__ == "__main__":
    kcl.KCLProcess(RecordProcessor()).run()
