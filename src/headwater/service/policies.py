"""Resource-based policies on streams and consumers, enforced for the keys the server knows.

A policy is IAM JSON (``Version``, ``Statement`` with ``Effect``, ``Principal``, ``Action``,
``Resource``; ``*`` and ``?`` wildcards). With no identity policies in a self-hosted server
every call is allowed by default, so what a policy changes is its ``Deny`` statements: a call
whose principal, action and resource match one fails with AccessDeniedException. A principal
is ``arn:aws:iam::<account>:user/<name>`` for the access key in the credentials file's
``[name]`` section, ``arn:aws:iam::<account>:root`` for every key of the account, or ``*``.
Conditions and Not* elements are refused when a policy is stored, rather than ignored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fnmatch import fnmatchcase

import msgspec

from headwater.errors import AccessDeniedException, InvalidArgumentException

MAX_POLICY_BYTES = 20 * 1024
_UNSUPPORTED = ("Condition", "NotAction", "NotResource", "NotPrincipal")


@dataclass(frozen=True)
class Statement:
    effect: str
    principals: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def matches(self, principals: tuple[str, ...], action: str, resource: str) -> bool:
        """``principals``: every name the caller goes by (its user ARN, its account root)."""
        principal_ok = "*" in self.principals or any(
            fnmatchcase(name, pattern) for name in principals for pattern in self.principals
        )
        return (
            principal_ok
            and any(fnmatchcase(action.lower(), a.lower()) for a in self.actions)
            and any(fnmatchcase(resource, r) for r in self.resources)
        )


def _strings(value: object, element: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise InvalidArgumentException(f"Policy element {element} must be a string or a list.")
    return tuple(items)


def _principals(value: object) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if isinstance(value, dict) and set(value) == {"AWS"}:
        return _strings(value["AWS"], "Principal.AWS")
    raise InvalidArgumentException('Policy element Principal must be "*" or {"AWS": ...}.')


@functools.lru_cache(maxsize=256)
def parse_policy(text: str) -> tuple[Statement, ...]:
    """Statements of a policy document; malformed or unsupported documents are refused.

    Cached: a stored policy is checked on every call to its stream, parsed once.
    """
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise InvalidArgumentException(f"Policy exceeds {MAX_POLICY_BYTES} bytes.")
    try:
        document = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise InvalidArgumentException("Policy is not valid JSON.") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise InvalidArgumentException("Policy must be a JSON object with a Statement.")
    raw = document["Statement"]
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list) or not raw:
        raise InvalidArgumentException("Policy Statement must be an object or a list.")
    statements = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidArgumentException("Each policy statement must be an object.")
        unsupported = [k for k in _UNSUPPORTED if k in item]
        if unsupported:
            raise InvalidArgumentException(
                f"Policy element {unsupported[0]} is not supported by this server."
            )
        if item.get("Effect") not in ("Allow", "Deny"):
            raise InvalidArgumentException("Policy statement Effect must be Allow or Deny.")
        statements.append(
            Statement(
                effect=item["Effect"],
                principals=_principals(item.get("Principal")),
                actions=_strings(item.get("Action"), "Action"),
                resources=_strings(item.get("Resource"), "Resource"),
            )
        )
    return tuple(statements)


def enforce(
    statements: tuple[Statement, ...], principals: tuple[str, ...], action: str, resource: str
) -> None:
    """Refuse the call if a Deny statement of the policy on ``resource`` matches it."""
    for statement in statements:
        if statement.effect == "Deny" and statement.matches(principals, action, resource):
            who = principals[0] if principals else "anonymous"
            raise AccessDeniedException(
                f"User: {who} is not authorized to perform: {action} on resource: "
                f"{resource} with an explicit deny in a resource-based policy"
            )
