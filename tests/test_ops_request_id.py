"""X-Request-ID through the real app: a valid one is echoed, on answers and on errors (in the header and
in the problem body); a missing, too long or strange one is replaced by a fresh id."""

from __future__ import annotations

import re

import pytest

GENERATED = re.compile(r"[0-9a-f]{32}")
PROBLEM = "application/problem+json"
OK_IDS = ["abc", "A.b_c:d-e", "0" * 128, "trace:5f1c.span-9_x"]
BAD_IDS = ["x" * 129, "has space", "semi;colon", "slash/ed", "quote\"d", "<script>", "tab\there", "comma,sep"]


async def _problem(response) -> dict:
    assert response.headers["Content-Type"].startswith(PROBLEM)
    return await response.json(content_type=None)


@pytest.mark.parametrize("request_id", OK_IDS)
async def test_echoed_on_success(client, request_id):
    response = await client.get("/healthz", headers={"X-Request-ID": request_id})
    assert response.status == 200
    assert response.headers["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/thing", 404),
        ("GET", "/access-capabilities/aws/actions/iam:NoSuchActionEver", 404),
        ("DELETE", "/healthz", 405),
        ("GET", "/access-capabilities/aws/actions/no-colon", 400),
        ("GET", "/access-capabilities/aws?capability=not-a-capability", 400),
    ],
)
async def test_echoed_on_errors_in_header_and_problem_body(client, method, path, status):
    response = await client.request(method, path, headers={"X-Request-ID": "err-check.1"})
    assert response.status == status
    assert response.headers["X-Request-ID"] == "err-check.1"
    body = await _problem(response)
    assert body["status"] == status
    assert body["requestId"] == "err-check.1"


@pytest.mark.parametrize("request_id", BAD_IDS)
async def test_replaced_when_too_long_or_with_bad_characters(client, request_id):
    response = await client.get("/no/such/thing", headers={"X-Request-ID": request_id})
    assert response.status == 404
    echoed = response.headers["X-Request-ID"]
    assert echoed != request_id
    assert GENERATED.fullmatch(echoed)
    assert (await _problem(response))["requestId"] == echoed


async def test_generated_when_absent_and_unique(client):
    ids = set()
    for _ in range(20):
        response = await client.get("/healthz")
        ids.add(response.headers["X-Request-ID"])
    assert len(ids) == 20 and all(GENERATED.fullmatch(i) for i in ids)


async def test_empty_header_is_replaced(client):
    response = await client.get("/healthz", headers={"X-Request-ID": ""})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
