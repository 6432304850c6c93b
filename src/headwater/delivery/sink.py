"""Writing objects: fsspec filesystems (temporary name + rename) and S3 (one atomic PUT).

``s3://`` URLs are written with botocore (already a Headwater dependency) rather than
fsspec's ``s3fs``: s3fs pulls aiobotocore, which pins an older botocore than the one
Headwater needs. Any other URL (a path, ``file://``, ``memory://``, …) goes through fsspec.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import fsspec
import msgspec
from fsspec.implementations.local import LocalFileSystem


class Sink:
    """Objects under one root; ``commit`` replaces an object all at once."""

    def commit(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def read_json(self, key: str) -> Any:
        data = self.read(key)
        return None if data is None else msgspec.json.decode(data)

    def write_json(self, key: str, value: Any) -> None:
        self.commit(key, msgspec.json.encode(value))


class ObjectSink(Sink):
    """The root of a destination on an fsspec filesystem (a path, ``file:///…``, …)."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)

    def path(self, key: str) -> str:
        return f"{self.root}/{key.lstrip('/')}"

    def commit(self, key: str, data: bytes) -> None:
        """Make ``key`` hold ``data`` all at once (readers never see a partial object).

        Local: write a temporary file beside it, fsync, rename over. Object stores: a PUT is
        already atomic, and a same-named PUT overwrites.
        """
        final = self.path(key)
        if not self.local:
            self.fs.pipe_file(final, data)
            return
        parent = final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        temporary = f"{parent}/.tmp-{uuid.uuid4().hex}"
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)

    def read(self, key: str) -> bytes | None:
        try:
            return self.fs.cat_file(self.path(key))
        except FileNotFoundError:
            return None


class S3Sink(Sink):
    """``s3://bucket/prefix`` on AWS S3 or any S3-compatible endpoint.

    ``storage_options``: ``endpoint_url``, ``region``, ``aws_access_key_id``,
    ``aws_secret_access_key`` (otherwise botocore's usual credential chain).
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        import botocore.session
        from botocore.config import Config

        options = dict(storage_options or {})
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        session = botocore.session.get_session()
        self.client = session.create_client(
            "s3",
            endpoint_url=options.get("endpoint_url"),
            region_name=options.get("region", "us-east-1"),
            aws_access_key_id=options.get("aws_access_key_id"),
            aws_secret_access_key=options.get("aws_secret_access_key"),
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )

    def key(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def commit(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(key), Body=data)

    def read(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return answer["Body"].read()


def open_sink(url: str, storage_options: dict[str, Any] | None = None) -> Sink:
    if url.startswith("s3://"):
        return S3Sink(url, storage_options)
    return ObjectSink(url, storage_options)
