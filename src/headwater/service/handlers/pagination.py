"""NextToken values: sealed, expiring descriptions of where a listing stopped."""

from __future__ import annotations

import msgspec

from headwater.errors import ExpiredNextTokenException, InvalidArgumentException
from headwater.service.tokens import TokenSigner

NEXT_TOKEN_TTL_MS = 300_000


class PageToken(msgspec.Struct, array_like=True):
    kind: str
    issued_ms: int
    stream: str
    stream_created_ms: int
    after: str


def issue(signer: TokenSigner, token: PageToken) -> str:
    return signer.seal(msgspec.msgpack.encode(token))


def redeem(signer: TokenSigner, text: str, kind: str, now_ms: int) -> PageToken:
    """The listing position a NextToken names; refuses forged, foreign or expired tokens."""
    payload = signer.open(text)
    token = None
    if payload is not None:
        try:
            token = msgspec.msgpack.decode(payload, type=PageToken)
        except msgspec.DecodeError:
            token = None
    if token is None or token.kind != kind:
        raise InvalidArgumentException("Invalid NextToken.")
    if now_ms - token.issued_ms > NEXT_TOKEN_TTL_MS:
        raise ExpiredNextTokenException(
            "The NextToken has expired. Tokens expire after 300 seconds; repeat the listing."
        )
    return token
