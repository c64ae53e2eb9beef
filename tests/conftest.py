"""Shared fixtures: the real index (loaded once), the real app through pytest-aiohttp, and a real
server process on a free port for tests that need a socket (schemathesis, the generated client, raw HTTP)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from service.index import CapabilityIndex
from service.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def index() -> CapabilityIndex:
    return CapabilityIndex.load()


@pytest.fixture
async def client(aiohttp_client, index):
    """A test client on the real app (all middleware on)."""
    return await aiohttp_client(create_app(index))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iamcap_command() -> list[str]:
    return [sys.executable, "-m", "service.cli"]


def start_server(env_extra: dict[str, str] | None = None, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start `iamcap serve` as a real process; return it and its base URL once /readyz answers 200."""
    port = port or free_port()
    # No drain by default: stopping a test server should not wait out a production drain period.
    env = {
        **os.environ,
        "IAMCAP_HOST": "127.0.0.1",
        "IAMCAP_PORT": str(port),
        "IAMCAP_DRAIN_SECONDS": "0",
        **(env_extra or {}),
    }
    # Files, not pipes: a chatty server must never block on a full pipe nobody reads.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([*iamcap_command(), "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {server_output(proc)[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                if response.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not become ready in 30 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()


def server_output(proc: subprocess.Popen) -> str:
    """Everything the server process wrote so far (stdout and stderr)."""
    proc.log.flush()
    proc.log.seek(0)
    return proc.log.read().decode(errors="replace")


@pytest.fixture(scope="session")
def live_server():
    """Base URL of one real server process shared by the session's socket-level tests."""
    proc, base = start_server({"IAMCAP_LOG_LEVEL": "WARNING", "IAMCAP_DRAIN_SECONDS": "0"})
    yield base
    stop_server(proc)
