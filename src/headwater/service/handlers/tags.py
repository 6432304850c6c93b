"""Tags on streams, by stream name (legacy API) or by resource ARN."""

from __future__ import annotations

from headwater.errors import InvalidArgumentException
from headwater.service.model import Stream
from headwater.service.service import StreamService

MAX_TAGS_PER_STREAM = 50
_ALLOWED_PUNCTUATION = set("_./=+-%@")
LIST_TAGS_DEFAULT_LIMIT = 50


def _valid_tag_text(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in _ALLOWED_PUNCTUATION for c in text)


def check_new_tags(name: str, current: dict[str, str], added: dict[str, str], account: str) -> None:
    """AWS' tag rules: allowed characters and at most 50 tags on a stream."""
    for key, value in added.items():
        if not (_valid_tag_text(key) and _valid_tag_text(value)):
            raise InvalidArgumentException(
                "Some tags contain invalid characters. Valid characters: "
                "Unicode letters, digits, white space, _ . / = + - % @."
            )
    if len(current.keys() | added.keys()) > MAX_TAGS_PER_STREAM:
        raise InvalidArgumentException(
            f"Failed to add tags to stream {name} under account {account} because a given "
            f"stream cannot have more than {MAX_TAGS_PER_STREAM} tags associated with it."
        )


def _add(service: StreamService, stream: Stream, tags: dict[str, str]) -> None:
    check_new_tags(stream.name, stream.tags, tags, service.config.account_id)
    stream.tags.update(tags)
    service.registry.save(stream)


def _remove(service: StreamService, stream: Stream, keys: list[str]) -> None:
    for key in keys:
        stream.tags.pop(key, None)
    service.registry.save(stream)


def _stream_of_arn(service: StreamService, arn: str) -> Stream:
    return service.registry.get(service.registry.name_from_arn(arn))


async def add_tags_to_stream(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        _add(service, service.registry.find_writable(request), request["Tags"])


async def remove_tags_from_stream(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        _remove(service, service.registry.find_writable(request), request["TagKeys"])


async def list_tags_for_stream(service: StreamService, request: dict) -> dict:
    stream = service.registry.find(request)
    keys = sorted(stream.tags)
    start = request.get("ExclusiveStartTagKey")
    if start is not None:
        keys = [k for k in keys if k > start]
    limit = request.get("Limit", LIST_TAGS_DEFAULT_LIMIT)
    return {
        "Tags": [{"Key": k, "Value": stream.tags[k]} for k in keys[:limit]],
        "HasMoreTags": len(keys) > limit,
    }


async def tag_resource(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        _add(service, _stream_of_arn(service, request["ResourceARN"]), request["Tags"])


async def untag_resource(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        _remove(service, _stream_of_arn(service, request["ResourceARN"]), request["TagKeys"])


async def list_tags_for_resource(service: StreamService, request: dict) -> dict:
    stream = _stream_of_arn(service, request["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in sorted(stream.tags)]}
