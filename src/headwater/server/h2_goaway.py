"""Let HTTP/2 streams finish after the client sends a graceful GOAWAY.

The AWS SDK for JavaScript v3 opens SubscribeToShard on a session of its own and closes that
session (GOAWAY, NO_ERROR) as soon as the response headers arrive, expecting the event stream
to go on, as RFC 9113 §6.8 allows for streams already open. The `h2` library behind Hypercorn
moves the whole connection to CLOSED on any GOAWAY and refuses to send more data, which ends
every subscription at once. This makes each Hypercorn connection ignore a GOAWAY whose error
code is NO_ERROR: the client opens no new streams after it anyway, and closes the connection
itself once its streams are done. Any other GOAWAY still tears the connection down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import h2.errors
from h2.connection import H2Connection
from hypercorn.protocol.h2 import H2Protocol
from hyperframe.frame import GoAwayFrame

_original_init = H2Protocol.__init__


def _tolerant(connection: H2Connection) -> Callable[[GoAwayFrame], tuple[list, list]]:
    receive_goaway = connection._frame_dispatch_table[GoAwayFrame]

    def receive(frame: GoAwayFrame) -> tuple[list, list]:
        if frame.error_code == h2.errors.ErrorCodes.NO_ERROR:
            return [], []
        return receive_goaway(frame)

    return receive


def _init(self: H2Protocol, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    self.connection._frame_dispatch_table[GoAwayFrame] = _tolerant(self.connection)


def install() -> None:
    """Idempotent: patch Hypercorn's HTTP/2 protocol once per process."""
    if H2Protocol.__init__ is not _init:
        H2Protocol.__init__ = _init
