"""Tags on streams, by stream name (legacy API) or by resource ARN."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from headwater.errors import InvalidArgumentException
from headwater.service.model import Stream
from headwater.service.service import StreamService

MAX_TAGS_PER_STREAM = 50
LIST_TAGS_DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class TagCharacters:
    """Which characters an API accepts in tags, and how AWS words a refusal."""

    punctuation: str
    invalid_message: str
    percent_message: str | None = None  # '%' passes the first check but is refused after

    def check(self, texts: Iterable[str], stream_name: str, account: str) -> None:
        allowed = set(self.punctuation)
        texts = list(texts)
        for text in texts:
            if not all(c.isalnum() or c == " " or c in allowed for c in text):
                raise InvalidArgumentException(self.invalid_message)
        if self.percent_message and any("%" in text for text in texts):
            raise InvalidArgumentException(
                self.percent_message.format(stream=stream_name, account=account)
            )


ADD_TAG_CHARACTERS = TagCharacters(
    "_./=+-%@",
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . / = + - % @.",
    "Failed to add tags to stream {stream} under account {account} because some tags "
    "contained illegal characters. The allowed characters are Unicode letters, white-spaces, "
    "'_',',','/','=','+','-','@'.",
)
REMOVE_TAG_CHARACTERS = TagCharacters(
    "_./=+-%@:",
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . / = + - % @ :.",
    "Failed to remove tags from stream {stream} under account {account} because some tags "
    "contained illegal characters. The allowed characters are Unicode letters, white-spaces, "
    "'_',',','/','=','+','-','@',':'.",
)
RESOURCE_TAG_CHARACTERS = TagCharacters(
    "_.:/=+-@",
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . : / = + - @.",
)


def check_new_tags(
    name: str,
    current: dict[str, str],
    added: dict[str, str],
    account: str,
    characters: TagCharacters = ADD_TAG_CHARACTERS,
) -> None:
    """AWS' tag rules: allowed characters and at most 50 tags on a stream."""
    characters.check([*added.keys(), *added.values()], name, account)
    if len(current.keys() | added.keys()) > MAX_TAGS_PER_STREAM:
        raise InvalidArgumentException(
            f"Failed to add tags to stream {name} under account {account} because a given "
            f"stream cannot have more than {MAX_TAGS_PER_STREAM} tags associated with it."
        )


def _add(
    service: StreamService, stream: Stream, tags: dict[str, str], characters: TagCharacters
) -> None:
    check_new_tags(stream.name, stream.tags, tags, service.config.account_id, characters)
    stream.tags.update(tags)
    service.registry.save(stream)


def _remove(
    service: StreamService, stream: Stream, keys: list[str], characters: TagCharacters
) -> None:
    characters.check(keys, stream.name, service.config.account_id)
    for key in keys:
        stream.tags.pop(key, None)
    service.registry.save(stream)


def _stream_of_arn(service: StreamService, arn: str) -> Stream:
    return service.registry.get(service.registry.name_from_arn(arn))


async def add_tags_to_stream(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = service.registry.find_writable(request)
        _add(service, stream, request["Tags"], ADD_TAG_CHARACTERS)


async def remove_tags_from_stream(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = service.registry.find_writable(request)
        _remove(service, stream, request["TagKeys"], REMOVE_TAG_CHARACTERS)


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
        stream = _stream_of_arn(service, request["ResourceARN"])
        _add(service, stream, request["Tags"], RESOURCE_TAG_CHARACTERS)


async def untag_resource(service: StreamService, request: dict) -> None:
    async with service.control_lock:
        stream = _stream_of_arn(service, request["ResourceARN"])
        _remove(service, stream, request["TagKeys"], RESOURCE_TAG_CHARACTERS)


async def list_tags_for_resource(service: StreamService, request: dict) -> dict:
    stream = _stream_of_arn(service, request["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in sorted(stream.tags)]}
