"""Hostile input battery against a real `iamcap serve` process (the session's `live_server`).

Raw sockets send what no well-behaved client would (malformed HTTP, NUL and non-UTF-8 bytes, garbage);
httpx and aiohttp send the well-formed but unkind (huge answers, many connections). Every answer must be
a valid 2xx, or a 4xx: application/problem+json when the service produced it; never a 5xx, never a
traceback. After the battery the server still answers /healthz.

Some requests never reach the service: aiohttp's HTTP parser refuses them (bad method, invalid bytes in
the request line or headers, request line over MAX_LINE_SIZE, header over MAX_FIELD_SIZE, more than
MAX_HEADERS headers, bad Content-Length or chunking). aiohttp 3.14 answers those itself with a plain-text
400 and closes the connection; it has no public hook to change that answer (only its private
`RequestHandler.handle_error`, wired through private Server/AppRunner internals). For those the tests
assert what can honestly be asserted: a 4xx, no traceback, the connection closed.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import aiohttp
import httpx
import pytest
from conftest import start_server, stop_server

from service.web.app import MAX_FIELD_SIZE, MAX_HEADERS, MAX_LINE_SIZE

PROBLEM = "application/problem+json"
PROBLEM_TYPE = "urn:iamcap:problem:"
A = "/access-capabilities/aws"
TIMEOUT = 10.0  # generous: every answer here takes milliseconds on a laptop
TRACEBACK = re.compile(rb"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")


# --- raw HTTP ---------------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after answering
    raw: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


def address(base: str) -> tuple[str, int]:
    split = urlsplit(base)
    return split.hostname, split.port


def exchange(base: str, data: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """Send bytes, read until the server closes (or the timeout); returns everything received."""
    with socket.create_connection(address(base), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading it all; its answer is still there to read
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:  # closed, unread data discarded: the answer came before
                return received + b"\0EOF"
            except TimeoutError:
                raise AssertionError(f"no close within {timeout}s; got {received[:300]!r}") from None
            if not chunk:
                return received + b"\0EOF"
            received += chunk
        raise AssertionError(f"no close within {timeout}s; got {received[:300]!r}")


def parse(raw: bytes) -> Answer:
    closed = raw.endswith(b"\0EOF")
    raw = raw.removesuffix(b"\0EOF")
    head, sep, rest = re.sub(rb"^HTTP/1\.1 100 [^\r]*\r\n\r\n", b"", raw).partition(b"\r\n\r\n")  # 100-continue
    assert sep, f"no HTTP answer: {raw[:300]!r}"
    lines = head.decode("latin-1").split("\r\n")
    version, status, *reason = lines[0].split(" ", 2)
    assert version.startswith("HTTP/"), lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest
    if "content-length" in headers:
        body = rest[: int(headers["content-length"])]
    elif headers.get("transfer-encoding") == "chunked":
        body = dechunk(rest)
    return Answer(int(status), reason[0] if reason else "", headers, body, closed, raw)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def request(target: bytes | str, *, method: bytes = b"GET", headers: bytes = b"", body: bytes = b"") -> bytes:
    if isinstance(target, str):
        target = target.encode()
    return method + b" " + target + b" HTTP/1.1\r\nHost: iamcap\r\nConnection: close\r\n" + headers + b"\r\n" + body


def send(base: str, data: bytes, **kwargs) -> Answer:
    answer = parse(exchange(base, data, **kwargs))
    assert_no_traceback(answer.raw)
    return answer


# --- what every answer must be ----------------------------------------------------------------------
def assert_no_traceback(raw: bytes) -> None:
    assert not TRACEBACK.search(raw), raw[:2000]


def assert_problem(answer: Answer, statuses: set[int]) -> dict:
    """A documented 4xx the service produced: problem+json whose status is the HTTP status."""
    assert answer.status in statuses, (answer.status, answer.body[:500])
    assert 400 <= answer.status < 500
    assert answer.content_type == PROBLEM, answer.headers
    problem = json.loads(answer.body)
    assert problem["type"].startswith(PROBLEM_TYPE)
    assert problem["status"] == answer.status
    assert isinstance(problem["title"], str) and isinstance(problem["detail"], str)
    assert problem["requestId"] == answer.headers["x-request-id"]
    return problem


def assert_service_answer(answer: Answer, statuses: set[int]) -> None:
    """2xx from the service, or its problem+json 4xx."""
    assert answer.status in statuses, (answer.status, answer.body[:500])
    assert answer.status < 500
    assert "x-request-id" in answer.headers, answer.headers  # the edge middleware ran
    if answer.status >= 400:
        assert_problem(answer, statuses)


def assert_parser_refusal(answer: Answer) -> None:
    """aiohttp's HTTP parser refused the request before the service saw it (see the module docstring)."""
    assert 400 <= answer.status < 500, (answer.status, answer.body[:500])
    assert answer.content_type in (PROBLEM, "text/plain"), answer.headers
    assert answer.closed, "the connection must be closed after a malformed request"


# --- parameters -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "statuses"),
    [
        # unknown and repeated parameters
        (f"{A}?foo=1", {400}),
        (f"{A}/services?foo=1", {400}),
        ("/policy/aws/identity/deny-iam-admin?form=permission-boundary", {400}),
        (f"{A}/actions/iam:PassRole?verbose=1", {400}),
        (f"{A}/actions?pattern=iam:PassRole&pattern=iam:PassRole", {200}),
        (f"{A}?service=iam&service=IAM&service=iam", {200}),
        (f"{A}?capability=read-data&capability=read-data", {200}),
        (f"{A}?service=iam&Service=iam", {400}),
        (f"{A}/actions", {400}),  # `pattern` is required
        (f"{A}/actions?" + "&".join(["pattern=iam:Get*"] * 21), {400}),
        (f"{A}?" + "&".join(["capability=read-data"] * 7), {400}),
        (f"{A}?" + "&".join(f"service=s{i}" for i in range(51)), {400}),
        # empty values
        (f"{A}?service=", {400}),
        (f"{A}?capability=", {400}),
        (f"{A}/actions?pattern=", {400}),
        (f"{A}?service", {400}),
        (f"{A}/actions?pattern=&pattern=iam:Get*", {400}),
        (f"{A}?=iam", {400}),
        (f"{A}?&&&", {200}),
        # names that are well formed but name nothing
        (f"{A}?service=nosuchservice", {400}),
        (f"{A}?capability=root", {400}),
        (f"{A}/actions/iam:NoSuchAction", {404}),
        (f"{A}/actions/iam", {400}),
        (f"{A}/actions/:", {400}),
        (f"{A}/actions/iam:", {400}),
        (f"{A}/actions/iam:Pass*", {400}),
        # 10 kB values, names and paths (under the 16 kB request-line limit: the service answers)
        (f"{A}?service=" + "a" * 10240, {400}),
        (f"{A}?capability=" + "a" * 10240, {400}),
        (f"{A}/actions?pattern=" + "a" * 10240, {400}),
        (f"{A}/actions?pattern=iam:" + "*" * 10240, {400}),
        (f"{A}?" + "a" * 10240 + "=1", {400}),
        (f"{A}/actions/iam:" + "a" * 10240, {400}),
        ("/" + "a" * 8192, {404}),
        (f"{A}/" + "a/" * 4096, {404}),
    ],
)
def test_parameter_abuse_gets_a_documented_answer(live_server, target, statuses):
    assert_service_answer(send(live_server, request(target)), statuses)


def test_unknown_capability_lists_the_valid_ones(live_server):
    problem = assert_problem(send(live_server, request(f"{A}?capability=root")), {400})
    assert "administer-resource" in problem["validValues"]


@pytest.mark.parametrize("size", [MAX_LINE_SIZE + 1, 64 * 1024])
def test_request_line_over_the_limit_is_refused(live_server, size):
    answer = send(live_server, request("/" + "a" * size))
    assert_parser_refusal(answer)
    assert len(answer.body) < 4096  # the refusal does not echo 64 kB back


# --- percent-encoding, NUL and non-UTF-8 bytes ----------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "statuses"),
    [
        (f"{A}/actions/iam%3APassRole", {200}),
        (f"{A}/actions/IAM%3apassrole", {200}),
        (f"{A}/actions/iam:Pass%00Role", {404}),
        (f"{A}/actions/%00", {400}),
        (f"{A}/actions/iam%2FPassRole", {400}),
        (f"{A}/actions/iam:Pass%2FRole", {404}),
        (f"{A}/actions/iam%252FPassRole", {400}),
        (f"{A}/actions/iam:Pass%252FRole", {404}),
        (f"{A}/actions/iam:%C0%AFPassRole", {404}),
        (f"{A}/actions/iam:%ZZPassRole", {404}),
        (f"{A}/actions/iam:PassRole%", {404}),
        (f"{A}/actions/iam:%E2%80%AEPassRole", {404}),
        (f"{A}/actions/iam:%FF%FE", {404}),
        (f"{A}/actions/iam%3A%2A", {400}),
        (f"{A}?service=%ZZ", {400}),
        (f"{A}?service=iam%00", {400}),
        (f"{A}?service=%C0%AF", {400}),
        (f"{A}?service=%FF", {400}),
        (f"{A}?service=i%61m", {200}),
        (f"{A}?capability=read%2Ddata", {200}),
        (f"{A}?capability=read-data%00", {400}),
        (f"{A}/actions?pattern=iam%3ACreate%2A", {200}),
        (f"{A}/actions?pattern=iam:Create*%00", {400}),
        (f"{A}/actions?pattern=iam:%2A%2F..%2F", {400}),
        ("/%2e%2e/%2e%2e/etc/passwd", {404}),
    ],
)
def test_encoding_tricks_get_a_documented_answer(live_server, target, statuses):
    answer = send(live_server, request(target))
    assert_service_answer(answer, statuses)
    assert b"\x00" not in answer.body  # a NUL sent is never echoed raw


@pytest.mark.parametrize(
    "data",
    [
        request(b"/healthz\x00"),
        request(b"/healthz?x=\x00"),
        request(f"{A}/actions/iam:\xff\xfe".encode("latin-1")),
        request(f"{A}?service=\xff".encode("latin-1")),
        request(b"/he\x7fal\x1bthz"),
        request(b"/healthz", headers=b"X-Request-ID: a\x00b\r\n"),
        request(b"/healthz", headers=b"X-Na\x00me: v\r\n"),
        request(b"/healthz", headers=b"X Bad: v\r\n"),
        request(b"/healthz", headers=b"X-Folded: v\r\n  folded\r\n"),
    ],
    ids=["nul-path", "nul-query", "non-utf8-path", "non-utf8-query", "control-path", "nul-header-value",
         "nul-header-name", "space-in-header-name", "obsolete-line-folding"],
)
def test_invalid_bytes_in_the_request_are_refused(live_server, data):
    assert_parser_refusal(send(live_server, data))


def test_non_utf8_request_id_is_replaced_not_echoed(live_server):
    answer = send(live_server, request("/healthz", headers=b"X-Request-ID: \xff\xfe\xc0\xaf\r\n"))
    assert_service_answer(answer, {200})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


@pytest.mark.parametrize("value", ["a" * 8000, "a b", "<script>", "x" * 129, ""])
def test_unusable_request_ids_are_replaced(live_server, value):
    answer = send(live_server, request(f"{A}?foo=1", headers=f"X-Request-ID: {value}\r\n".encode()))
    problem = assert_problem(answer, {400})
    assert re.fullmatch(r"[0-9a-f]{32}", problem["requestId"])


# --- path traversal ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "statuses"),
    [
        (f"{A}/actions/..%2F..%2Fetc%2Fpasswd", {400}),
        (f"{A}/actions/iam:..%2F..%2Fetc%2Fpasswd", {404}),
        (f"{A}/actions/../../../etc/passwd", {404}),
        (b"/docs/static/../../pyproject.toml", {404}),
        (b"/docs/static/..%2F..%2Fpyproject.toml", {404}),
        (b"/docs/static/%2e%2e/%2e%2e/pyproject.toml", {404}),
        (b"/docs/static/..\\..\\pyproject.toml", {404}),
        (b"/docs/static/..%5C..%5Cpyproject.toml", {404}),
        (b"/docs/static//etc/passwd", {404}),
        (b"/docs/static/%2Fetc%2Fpasswd", {404}),
        (b"/docs/static/", {403, 404}),
        (b"/docs/static/no-such-file.js", {404}),
        (b"/docs/static/a%00b", {404}),
        (b"/../../etc/passwd", {404}),
        (b"/docs/..;/pyproject.toml", {404}),
    ],
)
def test_path_traversal_serves_nothing_outside(live_server, target, statuses):
    answer = send(live_server, request(target))
    assert_service_answer(answer, statuses)
    assert b"[build-system]" not in answer.body and b"root:" not in answer.body


def test_swagger_ui_static_files_still_serve(live_server):
    answer = send(live_server, request("/docs/static/swagger-ui.css"))
    assert answer.status == 200 and answer.content_type == "text/css"


# --- wildcard abuse -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def http(live_server):
    with httpx.Client(base_url=live_server, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def action_count(http) -> int:
    return http.get("/").json()["actionCount"]


@pytest.mark.parametrize(
    ("patterns", "expect"),
    [
        (["*"], "all"),
        (["*:*"], "all"),
        (["*:" + "*" * 250], "all"),
        (["*" * 250 + ":*"], "all"),
        (["*" * 250], 400),
        (["?" * 200], 400),
        (["*:" + "?" * 200], 0),
        (["?" * 100 + ":" + "?" * 100], 0),
        (["*:" + "*?" * 120], 0),
        (["*:" + "*a" * 120 + "*b"], 0),
        (["*" + "a*" * 120 + ":b"], 0),
        (["*:*" + "e*" * 100], 0),
        (["iam:*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"], 0),
        # 20 distinct pathological patterns in one request (before the fix: 4 s of a blocked event loop)
        (["*:" + "*?" * 120 + "?" * (i % 12) + "*" * (i // 12) for i in range(20)], 0),
        (["*:" + "*a" * 110 + "?" * i for i in range(20)], 0),
        (["*" * 257], 400),
        (["iam:Create*"] * 20, "some"),
    ],
    ids=lambda v: v if isinstance(v, (str, int)) else f"{len(v)}x{len(v[0])}",
)
def test_wildcard_abuse_answers_fast(http, action_count, patterns, expect):
    response = http.get(f"{A}/actions", params=[("pattern", p) for p in patterns])  # TIMEOUT bounds the time
    assert response.status_code == (400 if expect == 400 else 200), response.text[:500]
    if expect == 400:
        assert response.headers["content-type"] == PROBLEM
        return
    count = response.json()["count"]
    if expect == "all":
        assert count == action_count
    elif expect == "some":
        assert 0 < count < action_count
    else:
        assert count == expect


async def _pathological_while_probing(base: str) -> list[int]:
    """Four requests of 20 distinct pathological patterns each, sent at once, and a /healthz probe among them.
    The event loop runs them one after the other: before the fix each took 4 s (16 s in all)."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(base, timeout=timeout) as session:

        async def get(path: str, params=None) -> int:
            async with session.get(path, params=params) as response:
                await response.read()
                return response.status

        batches = [[("pattern", "*:" + "*?" * 115 + "?" * i + "*" * j) for i in range(10) for j in (b, b + 4)]
                   for b in range(4)]
        return await asyncio.gather(*(get(f"{A}/actions", batch) for batch in batches), get("/healthz"))


def test_pathological_patterns_do_not_stall_the_server(live_server):
    assert asyncio.run(_pathological_while_probing(live_server)) == [200] * 5


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def test_match_everything_answers_are_not_all_kept():
    """Each is 11 MB (body and gzip); 30 distinct ones kept (as the old 256-entry cache did) would add
    330 MB. The document cache is bounded by bytes (responses.cache_documents): growth stays near 64 MB."""
    proc, base = start_server({"IAMCAP_LOG_LEVEL": "WARNING", "IAMCAP_DRAIN_SECONDS": "0"})
    try:
        with httpx.Client(base_url=base, timeout=TIMEOUT) as client:
            client.get(f"{A}/actions", params={"pattern": "*"})  # the per-action bytes every answer shares
            before = rss_bytes(proc.pid)
            for stars in range(2, 32):
                response = client.get(f"{A}/actions", params={"pattern": "*:" + "*" * stars})
                assert response.status_code == 200
                assert client.get("/healthz").status_code == 200
            grown = rss_bytes(proc.pid) - before
        assert grown < 200 << 20, f"RSS grew {grown >> 20} MB"
    finally:
        stop_server(proc)


# --- methods and bodies ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"TRACE"])
@pytest.mark.parametrize("target", ["/healthz", f"{A}/actions/iam:PassRole", "/policy/aws/identity/deny-iam-admin"])
def test_unsupported_methods_are_405(live_server, method, target):
    answer = send(live_server, request(target, method=method, headers=b"Content-Length: 0\r\n"))
    assert_problem(answer, {405})
    assert "GET" in answer.headers["allow"]


def test_unknown_path_with_a_bad_method_is_404_or_405(live_server):
    assert_problem(send(live_server, request("/nope", method=b"DELETE")), {404, 405})


@pytest.mark.parametrize(
    "data",
    [
        b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\nConnection: close\r\n\r\n",
        b"CONNECT /healthz HTTP/1.1\r\nHost: iamcap\r\nConnection: close\r\n\r\n",
    ],
)
def test_connect_is_refused(live_server, data):
    # aiohttp treats what follows CONNECT as a tunnel body, so the body guard answers first.
    assert_problem(send(live_server, data), {405, 413})


@pytest.mark.parametrize(
    "data",
    [
        request("/healthz", method=b"FOO"),
        request("/healthz", method=b"BREW"),
        request("/healthz", method=b"get"),
        request("/healthz", method=b"G@T"),
        request("/healthz", method=b"A" * 5000),
        request("/healthz", method=b"\xff\xfe"),
    ],
    ids=["FOO", "BREW", "lower-case", "G@T", "5000-chars", "binary"],
)
def test_garbage_methods_are_refused(live_server, data):
    assert_parser_refusal(send(live_server, data))


@pytest.mark.parametrize(
    "data",
    [
        request("/healthz", headers=b"Content-Length: 5\r\n", body=b"hello"),
        request(f"{A}/actions?pattern=*", headers=b"Content-Length: 5\r\n", body=b"hello"),
        request("/healthz", headers=b"Transfer-Encoding: chunked\r\n", body=b"5\r\nhello\r\n0\r\n\r\n"),
        request("/healthz", headers=b"Content-Type: application/json\r\nContent-Length: 2\r\n", body=b"{}"),
        request("/healthz", headers=b"Expect: 100-continue\r\nContent-Length: 3\r\n", body=b"abc"),
        request("/healthz", headers=b"Content-Length: 1048576\r\n", body=b"a" * 1048576),
        request("/healthz", method=b"POST", headers=b"Content-Length: 5\r\n", body=b"hello"),
    ],
    ids=["content-length", "content-length-on-match", "chunked", "json", "expect-100", "1MB", "post"],
)
def test_request_bodies_are_refused_with_413(live_server, data):
    problem = assert_problem(send(live_server, data), {413})
    assert problem["type"] == PROBLEM_TYPE + "body-not-accepted"


def test_a_request_hidden_in_a_body_is_never_run(live_server):
    """Body framing is honoured: the refused body is skipped, not parsed as the next request."""
    hidden = b"GET /nope HTTP/1.1\r\nHost: iamcap\r\n\r\n"
    for framing in (b"Content-Length: %d\r\n\r\n" % len(hidden) + hidden,
                    b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(hidden) + hidden + b"\r\n0\r\n\r\n"):
        data = b"GET /healthz HTTP/1.1\r\nHost: iamcap\r\n" + framing + request("/readyz")
        raw = exchange(live_server, data)
        assert_no_traceback(raw)
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)
        assert statuses == [b"413", b"200"], raw[:1000]


# --- Accept and Accept-Encoding ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "accept",
    [b"text/html", b"application/xml", b"*/*;q=0", b"application/problem+json", b";;;,,,q=x/", b"\xff\xfe",
     b"text/html;q=1.0;q=2.0," * 300],
)
@pytest.mark.parametrize(("target", "status"), [("/", 200), (f"{A}/services", 200), ("/nope", 404)])
def test_odd_accept_headers_get_json(live_server, accept, target, status):
    answer = send(live_server, request(target, headers=b"Accept: " + accept + b"\r\n"))
    assert_service_answer(answer, {status})
    if status == 200:
        assert answer.content_type == "application/json"
        json.loads(answer.body)


@pytest.mark.parametrize(
    ("encoding", "gzipped"),
    [(b"gzip", True), (b"GZIP;q=0.5", True), (b"gzip;q=0", False), (b"br", False), (b"*", True),
     (b"gzip;q=x", False), (b"identity", False), (b",,,;;;", False)],
)
def test_odd_accept_encodings(live_server, encoding, gzipped):
    answer = send(live_server, request(f"{A}/services", headers=b"Accept-Encoding: " + encoding + b"\r\n"))
    assert_service_answer(answer, {200})
    assert (answer.headers.get("content-encoding") == "gzip") is gzipped
    json.loads(gzip.decompress(answer.body) if gzipped else answer.body)


# --- huge and many headers ------------------------------------------------------------------------------
def test_a_header_just_under_the_field_limit_is_served(live_server):
    answer = send(live_server, request("/healthz", headers=b"X-Big: " + b"a" * (MAX_FIELD_SIZE - 16) + b"\r\n"))
    assert_service_answer(answer, {200})


@pytest.mark.parametrize("size", [MAX_FIELD_SIZE + 1, 100 * 1024])
def test_huge_headers_are_refused(live_server, size):
    answer = send(live_server, request("/healthz", headers=b"X-Big: " + b"a" * size + b"\r\n"))
    assert_parser_refusal(answer)
    assert len(answer.body) < 4096


def test_as_many_headers_as_allowed_are_served(live_server):
    extra = MAX_HEADERS - 2  # Host and Connection are two
    answer = send(live_server, request("/healthz", headers=b"".join(b"X-H%d: v\r\n" % i for i in range(extra))))
    assert_service_answer(answer, {200})


@pytest.mark.parametrize("count", [MAX_HEADERS, 200])
def test_too_many_headers_are_refused(live_server, count):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(count))
    assert_parser_refusal(send(live_server, request("/healthz", headers=headers)))


# --- malformed HTTP -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 4,
        bytes.fromhex("16030100a5010000a10303") + b"\0" * 100,  # a TLS ClientHello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # the HTTP/2 preface
        b"GET /healthz HTTP/9.9\r\nHost: iamcap\r\n\r\n",
        b"GET /healthz HTTP/1.1\nHost: iamcap\n\n",  # LF only
        b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",  # HTTP/1.1 without Host
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        request("/healthz", headers=b"Content-Length: abc\r\n"),
        request("/healthz", headers=b"Content-Length: -1\r\n"),
        request("/healthz", headers=b"Content-Length: 1\r\nContent-Length: 2\r\n", body=b"ab"),
        request("/healthz", headers=b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", body=b"0\r\n\r\n"),
        request("/healthz", headers=b"Transfer-Encoding: chunked\r\n", body=b"zz\r\nhello\r\n"),
        request("/healthz", headers=b"Transfer-Encoding: chunked\r\n", body=b"ffffffffffffffffffff\r\nhello\r\n"),
        request("/healthz", headers=b"Transfer-Encoding: gzip\r\n"),
        request("/healthz", headers=b"Transfer-Encoding: chunked, chunked\r\n", body=b"0\r\n\r\n"),
    ],
    ids=["binary", "tls-hello", "h2-preface", "http-9.9", "lf-only", "no-host", "two-hosts", "content-length-abc",
         "content-length-negative", "content-length-twice", "content-length-and-chunked", "chunk-size-garbage",
         "chunk-size-overflow", "transfer-encoding-gzip", "chunked-twice"],
)
def test_malformed_http_is_refused(live_server, data):
    assert_parser_refusal(send(live_server, data))


def test_http_0_9_style_request_is_answered_or_refused(live_server):
    answer = send(live_server, b"GET /\r\n\r\n")
    assert answer.status == 200 or 400 <= answer.status < 500


@pytest.mark.parametrize(
    "partial",
    [b"GET /healthz HT", b"GET /access-capabilities/aws?service=iam HTTP/1.1\r\nHost: iam", b"G", b"\r\n",
     b"GET /healthz HTTP/1.1\r\nHost: iamcap\r\nContent-Length: 100\r\n\r\nabc"],
)
def test_partial_requests_then_close_leave_the_server_well(live_server, http, partial):
    with socket.create_connection(address(live_server), timeout=TIMEOUT) as sock:
        sock.sendall(partial)
    assert http.get("/healthz").status_code == 200


# --- many connections -----------------------------------------------------------------------------------
def test_slow_clients_do_not_block_others(live_server, http):
    """Slowloris-style: 100 connections each holding half a request; others are still served."""
    socks = []
    try:
        for i in range(100):
            sock = socket.create_connection(address(live_server), timeout=TIMEOUT)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: iamcap\r\nX-Slow-%d: " % i)
            socks.append(sock)
        for _ in range(5):
            assert http.get("/readyz").status_code == 200
        for sock in socks[:10]:  # and a slow client that finishes is served too
            sock.sendall(b"1\r\nConnection: close\r\n\r\n")
            answer = parse(read_to_close(sock))
            assert answer.status == 200
    finally:
        for sock in socks:
            sock.close()


def read_to_close(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received + b"\0EOF"


async def _many_connections(base: str, count: int) -> list[tuple[int, str, bytes]]:
    targets = ["/healthz", "/readyz", f"{A}/services", f"{A}/actions/iam:PassRole", f"{A}/actions?pattern=iam:Create*",
               "/policy/aws/identity/deny-iam-admin", f"{A}?service=nosuchservice", "/nope", f"{A}?service=s3"]
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # one connection per request
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

        async def one(i: int) -> tuple[int, str, bytes]:
            async with session.get(targets[i % len(targets)], headers={"X-Request-ID": f"many-{i}"}) as response:
                return response.status, response.content_type, await response.read()

        return await asyncio.gather(*(one(i) for i in range(count)))


def test_many_concurrent_connections(live_server):
    answers = asyncio.run(_many_connections(live_server, 400))
    assert len(answers) == 400
    for status, content_type, body in answers:
        assert status in (200, 400, 404), (status, body[:300])
        assert content_type == (PROBLEM if status >= 400 else "application/json")
        assert_no_traceback(body)


# --- and after all that ------------------------------------------------------------------------------
def test_zz_server_still_healthy_after_the_battery(live_server, http):
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").json()["status"] == "ready"
    assert http.get(f"{A}/actions/{quote('iam:PassRole')}").json()["action"] == "iam:PassRole"
