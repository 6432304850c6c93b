"""``headwater deliver`` that dies (``os._exit``) right before its Nth checkpoint.

So the objects of that flush are committed but the checkpoint never moves: the restart must
replay exactly that flush (same object names) and write nothing twice.
"""

from __future__ import annotations

import os
import sys

from headwater.cli.main import app
from headwater.client.consumer.checkpointer import Checkpointer

_original = Checkpointer.checkpoint
_calls = 0


async def _checkpoint(self, where=None, sub_sequence_number=None):
    global _calls
    if where is not None:  # flushes checkpoint at a record
        _calls += 1
        if _calls == int(os.environ["CRASH_AT_CHECKPOINT"]):
            os._exit(9)
    return await _original(self, where, sub_sequence_number)


Checkpointer.checkpoint = _checkpoint
app(sys.argv[1:], prog_name="headwater")
