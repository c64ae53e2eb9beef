"""Configuration from IAMCAP_*: a bad value stops `iamcap serve` with a message naming the variable and
a non-zero exit, through a real process; every setting is documented where operators look."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest

from conftest import ROOT, iamcap_command, server_output, start_server, stop_server
from service.config import Config

BAD = [
    ("IAMCAP_PORT", "http"),
    ("IAMCAP_PORT", "70000"),
    ("IAMCAP_HOST", "two words"),
    ("IAMCAP_LOG_LEVEL", "LOUD"),
    ("IAMCAP_ACCESS_LOG", "maybe"),
    ("IAMCAP_DRAIN_SECONDS", "-1"),
    ("IAMCAP_DRAIN_SECONDS", "nan"),
    ("IAMCAP_SHUTDOWN_TIMEOUT", "soon"),
    ("IAMCAP_WORKERS", "0"),
    ("IAMCAP_WORKERS", "1.5"),
    ("IAMCAP_CACHE_MAX_AGE", "-5"),
]


def run_serve(env_extra: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMCAP_")}
    env.update({"IAMCAP_HOST": "127.0.0.1", "IAMCAP_PORT": "0", **env_extra})
    return subprocess.run(
        [*iamcap_command(), "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(("variable", "value"), BAD)
def test_bad_value_stops_startup_naming_the_variable(variable, value):
    result = run_serve({variable: value})
    assert result.returncode == 2
    assert variable in result.stderr and repr(value) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_port_in_use_stops_startup_with_a_message():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve({"IAMCAP_PORT": str(port)})
    assert result.returncode == 4
    critical = [json.loads(line) for line in result.stderr.splitlines() if '"CRITICAL"' in line]
    assert critical and str(port) in critical[0]["message"]
    assert "Traceback" not in result.stderr


def test_every_setting_is_read_from_the_environment():
    env = {
        "IAMCAP_HOST": "0.0.0.0",
        "IAMCAP_PORT": "9090",
        "IAMCAP_LOG_LEVEL": "debug",
        "IAMCAP_ACCESS_LOG": "off",
        "IAMCAP_DRAIN_SECONDS": "2.5",
        "IAMCAP_SHUTDOWN_TIMEOUT": "7",
        "IAMCAP_WORKERS": "3",
        "IAMCAP_CACHE_MAX_AGE": "60",
    }
    config = Config.from_env(env)
    assert (config.host, config.port, config.log_level, config.access_log) == ("0.0.0.0", 9090, "DEBUG", False)
    assert (config.drain_seconds, config.shutdown_timeout, config.workers, config.cache_max_age) == (2.5, 7.0, 3, 60)
    assert Config.from_env({}) == Config()


def test_every_setting_is_documented_in_help_and_operations_doc():
    names = [f"IAMCAP_{f.name.upper()}" for f in fields(Config)]
    result = subprocess.run([*iamcap_command(), "serve", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    operations = (Path(ROOT) / "docs" / "operations.md").read_text()
    for name in names:
        assert name in result.stdout, f"{name} missing from `iamcap serve --help`"
        assert f"`{name}`" in operations, f"{name} missing from docs/operations.md"


def test_unknown_variable_is_reported_but_does_not_stop_startup():
    proc, base = start_server({"IAMCAP_WORKER": "4", "IAMCAP_DRAIN_SECONDS": "0"})
    try:
        warnings = [json.loads(line) for line in server_output(proc).splitlines() if "IAMCAP_WORKER" in line]
        assert warnings and warnings[0]["level"] == "WARNING"
    finally:
        stop_server(proc)
