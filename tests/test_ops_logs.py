"""Structured logs: JSON lines from a real `iamcap serve` process (access lines with route template,
status, bytes, duration and request id; IAMCAP_ACCESS_LOG and IAMCAP_LOG_LEVEL honoured), and the
request id on application lines logged while a request is handled."""

from __future__ import annotations

import io
import json
import logging

from conftest import server_output, start_server, stop_server
from service.web.app import create_app
from service.web.logs import JsonFormatter
from test_ops_shutdown import get, wait_until

ACTION_ROUTE = "/access-capabilities/aws/actions/{action}"
QUICK = {"IAMCAP_DRAIN_SECONDS": "0"}  # stop_server sends SIGTERM: no drain wait


def json_lines(proc) -> list[dict]:
    output = server_output(proc)
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        parsed.append(json.loads(line))  # every line, not only the access lines, is one JSON object
    return parsed


def access(proc) -> list[dict]:
    return [line for line in json_lines(proc) if line["logger"] == "iamcap.access"]


def test_one_json_access_line_per_request_with_its_request_id():
    proc, base = start_server({"IAMCAP_LOG_LEVEL": "INFO", **QUICK})
    try:
        agent = {"User-Agent": "ops-test/1.0"}
        status, headers, body = get(
            f"{base}/access-capabilities/aws/actions/iam:PassRole", {"X-Request-ID": "log-ok-1", **agent}
        )
        assert status == 200
        status, headers, _ = get(f"{base}/no/such/path", {"X-Request-ID": "log-404-1", **agent})
        assert status == 404
        status, headers, _ = get(f"{base}/healthz", {"X-Request-ID": "bad id!", **agent})
        generated = headers["X-Request-ID"]
        assert wait_until(lambda: len([a for a in access(proc) if a["user_agent"] == "ops-test/1.0"]) == 3, 10)
        lines = {line["request_id"]: line for line in access(proc) if line["user_agent"] == "ops-test/1.0"}
        assert set(lines) == {"log-ok-1", "log-404-1", generated}

        ok = lines["log-ok-1"]
        assert ok["method"] == "GET" and ok["route"] == ACTION_ROUTE and ok["status"] == 200
        assert ok["path"] == "/access-capabilities/aws/actions/iam:PassRole"
        assert ok["bytes"] > len(body)  # what was written: headers and body
        assert isinstance(ok["duration_ms"], float) and ok["duration_ms"] >= 0
        assert ok["remote"] == "127.0.0.1"
        assert ok["level"] == "INFO" and ok["time"].endswith("Z") and ok["pid"] == proc.pid

        missing = lines["log-404-1"]
        assert (missing["route"], missing["status"]) == ("unmatched", 404)
        assert lines[generated]["route"] == "/healthz"

        startup = [line for line in json_lines(proc) if line["logger"] == "iamcap"]
        assert startup and "serving" in startup[0]["message"]
    finally:
        stop_server(proc)


def test_access_log_off():
    proc, base = start_server({"IAMCAP_ACCESS_LOG": "false", "IAMCAP_LOG_LEVEL": "INFO", **QUICK})
    try:
        for _ in range(3):
            assert get(f"{base}/healthz")[0] == 200
        lines = json_lines(proc)
        assert any(line["logger"] == "iamcap" for line in lines)  # application lines still there
        assert not [line for line in lines if line["logger"] == "iamcap.access"]
    finally:
        stop_server(proc)


def test_log_level_warning_silences_info_but_not_access_lines():
    proc, base = start_server({"IAMCAP_LOG_LEVEL": "WARNING", "IAMCAP_UNKNOWN_KNOB": "1", **QUICK})
    try:
        assert get(f"{base}/healthz", {"X-Request-ID": "quiet-1"})[0] == 200
        assert wait_until(lambda: any(a["request_id"] == "quiet-1" for a in access(proc)), 10)
        application = [line for line in json_lines(proc) if line["logger"] != "iamcap.access"]
        assert application, "the warning about the unknown variable is missing"
        assert all(line["level"] in {"WARNING", "ERROR", "CRITICAL"} for line in application)
        assert any("IAMCAP_UNKNOWN_KNOB" in line["message"] for line in application)
    finally:
        stop_server(proc)


async def test_application_lines_about_a_request_carry_its_request_id(aiohttp_client, index):
    """A handler that fails: the edge answers problem+json, and the error line it logs, like any line
    logged while the request is handled, carries the request id."""
    app = create_app(index)

    async def fails(request):
        logging.getLogger("iamcap.test").warning("about to fail")
        raise RuntimeError("boom")

    app.router.add_get("/fails", fails)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client = await aiohttp_client(app)
        response = await client.get("/fails", headers={"X-Request-ID": "fail-1"})
        assert response.status == 500
        assert response.headers["Content-Type"].startswith("application/problem+json")
        problem = await response.json(content_type=None)
        assert problem["requestId"] == "fail-1" and "boom" not in json.dumps(problem)
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line["logger"] in {"iamcap.test", "iamcap.web"}]
    assert [line["message"] for line in mine] == ["about to fail", "unhandled error"]
    assert all(line["request_id"] == "fail-1" for line in mine)
    assert "RuntimeError: boom" in mine[1]["exception"]


def test_formatter_writes_extra_fields_and_one_line_per_record():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("iamcap.test.formatter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("multi\nline %s", "message", extra={"answer": 42, "obj": object()})
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            logger.exception("caught")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "multi\nline message" and first["answer"] == 42 and first["obj"].startswith("<object")
    assert "request_id" not in first  # not inside a request
    assert second["level"] == "ERROR" and "ValueError: bad\nvalue" in second["exception"]
