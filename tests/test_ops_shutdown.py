"""SIGTERM, drain and graceful shutdown, through a real `iamcap serve` process.

What a load balancer or Kubernetes relies on: after SIGTERM /readyz answers 503 at once while the
listener still accepts and answers; after IAMCAP_DRAIN_SECONDS new connections are refused; a request
in flight still finishes; the process exits 0.
"""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.error
import urllib.request

from conftest import server_output, start_server, stop_server

MAP = "/access-capabilities/aws"
PIPELINED = 40  # capability maps asked on one connection: far more bytes than socket buffers hold


def get(url: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_until(condition, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_draining(base: str, timeout: float = 10) -> dict:
    found = {}

    def draining() -> bool:
        status, _, body = get(f"{base}/readyz")
        if status == 503:
            found.update(json.loads(body))
            return True
        return False

    assert wait_until(draining, timeout), "readiness never turned 503 after SIGTERM"
    return found


def read_responses(sock: socket.socket) -> list[tuple[int, bytes]]:
    """Read pipelined HTTP/1.1 responses (Content-Length framed) until the server closes."""
    data = b""
    sock.settimeout(30)
    while chunk := sock.recv(1 << 16):
        data += chunk
    responses = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"truncated response head: {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:"))
        assert len(rest) >= length, f"response {len(responses) + 1} cut short: {len(rest)} of {length} bytes"
        responses.append((status, rest[:length]))
        data = rest[length:]
    return responses


def test_sigterm_drains_then_stops_accepting_and_in_flight_requests_finish():
    drain = 3.0
    proc, base = start_server({"IAMCAP_DRAIN_SECONDS": str(drain), "IAMCAP_SHUTDOWN_TIMEOUT": "60"})
    port = port_of(base)
    slow = socket.socket()
    try:
        # A request in flight: many capability maps pipelined on one connection whose client does not
        # read yet, so the server is blocked writing one of them.
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", port))
        ask = f"GET {MAP} HTTP/1.1\r\nHost: iamcap\r\nX-Request-ID: slow-reader\r\n\r\n".encode()
        slow.sendall(ask * PIPELINED)
        assert wait_until(lambda: '"request_id":"slow-reader"' in server_output(proc), 10)

        proc.send_signal(signal.SIGTERM)
        assert wait_draining(base) == {"status": "draining"}

        # Draining: still alive, still accepting, still answering, new connections included.
        status, headers, body = get(f"{base}/healthz")
        assert status == 200
        status, headers, body = get(f"{base}/access-capabilities/aws/services", {"X-Request-ID": "during-drain"})
        assert status == 200 and headers["X-Request-ID"] == "during-drain"
        assert json.loads(body)
        assert proc.poll() is None

        # Then the listener closes while the in-flight request keeps the process up.
        assert wait_until(lambda: refuses_connections(port), drain + 15), "the listener never closed"
        assert proc.poll() is None, "the process exited with a request still in flight"

        responses = read_responses(slow)
        assert responses, "the in-flight request was dropped"
        for status, body in responses:  # each one whole: the connection closed between responses
            assert status == 200
            assert json.loads(body)

        assert proc.wait(timeout=30) == 0
        lines = [json.loads(line) for line in server_output(proc).splitlines() if line.startswith("{")]
        assert any(line["message"].startswith("draining") for line in lines)
        during = [line for line in lines if line.get("request_id") == "during-drain"]
        assert [(line["route"], line["status"]) for line in during] == [("/access-capabilities/aws/services", 200)]
    finally:
        slow.close()
        stop_server(proc)


def test_in_flight_request_is_cut_after_the_shutdown_timeout_and_the_process_still_exits_zero():
    proc, base = start_server({"IAMCAP_DRAIN_SECONDS": "0", "IAMCAP_SHUTDOWN_TIMEOUT": "1"})
    stuck = socket.socket()
    try:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", port_of(base)))
        ask = f"GET {MAP} HTTP/1.1\r\nHost: iamcap\r\nX-Request-ID: never-reads\r\n\r\n".encode()
        stuck.sendall(ask * PIPELINED)
        assert wait_until(lambda: '"request_id":"never-reads"' in server_output(proc), 10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0  # the client never reads; the timeout ends the wait
    finally:
        stuck.close()
        stop_server(proc)


def test_second_sigterm_ends_the_drain_at_once():
    proc, base = start_server({"IAMCAP_DRAIN_SECONDS": "600", "IAMCAP_SHUTDOWN_TIMEOUT": "5"})
    try:
        proc.send_signal(signal.SIGTERM)
        wait_draining(base)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_server(proc)


def test_sigint_skips_the_drain():
    proc, base = start_server({"IAMCAP_DRAIN_SECONDS": "600", "IAMCAP_SHUTDOWN_TIMEOUT": "5"})
    try:
        assert get(f"{base}/readyz")[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in server_output(proc)
    finally:
        stop_server(proc)
