"""Who may see the dashboard: anyone when the server runs open, else holders of a key pair.

A browser cannot sign SigV4 requests, so a server with credentials protects the dashboard
with HTTP Basic authentication: user name = an access key id, password = its secret key
(send it only over TLS or on a trusted network). A server without credentials already lets
anyone who reaches it read every stream through the Kinesis API; the dashboard adds nothing,
except to web pages of other sites: those reach a local server only by DNS rebinding (their
own host name pointing at it), so an open dashboard answers only requests addressed to an IP
address or ``localhost``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping

CHALLENGE = b'Basic realm="Headwater dashboard", charset="UTF-8"'


class BasicAuth:
    def __init__(self, credentials: Mapping[str, str] | None) -> None:
        self._credentials = None if credentials is None else dict(credentials)

    @property
    def open(self) -> bool:
        return self._credentials is None

    def allows(self, authorization: str | None) -> bool:
        if self._credentials is None:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        secret = self._credentials.get(user)
        # Compare even for an unknown user, so timing does not tell which keys exist.
        expected = (secret or "\0").encode()
        return hmac.compare_digest(expected, password.encode()) and secret is not None


def addressed_by_ip_or_localhost(host_header: str | None) -> bool:
    """True for ``Host: 127.0.0.1:4567``, ``[::1]:4567``, ``localhost``; False for names."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
