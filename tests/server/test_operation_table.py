"""The operations table in docs/service.md stays true to the code and to botocore's model."""

from __future__ import annotations

import re
from pathlib import Path

import botocore.session
import pytest

from headwater.service.handlers import HANDLERS, STREAMING

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def _documented() -> dict[str, str]:
    rows = re.findall(r"^\| (\w+) \| (supported|not supported) \|$", DOC.read_text(), re.M)
    return dict(rows)


def test_docs_list_every_model_operation_with_its_real_status():
    model = botocore.session.get_session().get_service_model("kinesis")
    documented = _documented()
    served = set(HANDLERS) | STREAMING
    missing = set(model.operation_names) - set(documented)
    assert not missing, f"docs/service.md does not list: {sorted(missing)}"
    for operation in model.operation_names:
        expected = "supported" if operation in served else "not supported"
        assert documented[operation] == expected, operation


@pytest.mark.parametrize("operation", ["CreateQueue", "ListChannels"])
def test_unsupported_model_operations_say_so(server, operation):
    import httpx

    response = httpx.post(
        server.endpoint,
        content=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"Kinesis_20131202.{operation}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/kinesis/"
            "aws4_request, SignedHeaders=host, Signature=00",
            "X-Amz-Date": "20260101T000000Z",
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["__type"] == "UnknownOperationException"
    assert operation in body["message"]
