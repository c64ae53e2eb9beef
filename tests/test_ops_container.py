"""The container files, checked without a Docker engine: docker-compose.yml against the compose spec
(check-jsonschema, offline), the Dockerfile's key properties read from the file, and both health
checks run for real against a live server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

ROOT = Path(ROOT)
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make ", "clang", "python3-dev", "libc6-dev")


def validate_compose(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def stages(dockerfile: str) -> list[list[str]]:
    """Instructions (continuation lines joined, comments dropped) grouped by FROM."""
    text = re.sub(r"\\\n", " ", dockerfile)
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def instructions(stage: list[str], keyword: str) -> list[str]:
    return [line[len(keyword) :].strip() for line in stage if line.upper().startswith(keyword + " ")]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_spec():
    result = validate_compose(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_check_does_reject_a_broken_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  iamcap:\n    image: iamcap\n    stop_grace_period: [25]\n    helthcheck: {}\n")
    assert validate_compose(broken).returncode != 0


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration.replace(" ", "")
    return sum(float(n) * units[u] for n, u in parts)


def test_compose_waits_longer_than_drain_plus_shutdown_and_checks_health(compose):
    service = compose["services"]["iamcap"]
    env = service["environment"]
    drain = float(env["IAMCAP_DRAIN_SECONDS"])
    shutdown = float(env["IAMCAP_SHUTDOWN_TIMEOUT"])
    assert _seconds(service["stop_grace_period"]) > drain + shutdown
    assert service.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert env["IAMCAP_HOST"] == "0.0.0.0"
    health = service["healthcheck"]
    assert health["test"][0] == "CMD" and "/healthz" in " ".join(health["test"])


def test_dockerfile_is_multi_stage_slim_and_non_root(dockerfile):
    found = stages(dockerfile)
    assert len(found) >= 2, "not multi-stage"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    froms = [instructions(stage, "FROM")[0] for stage in found]
    assert all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    build, final = found[0], found[-1]
    assert any("requirements.lock" in line for line in instructions(build, "RUN"))
    assert any("/opt/venv" in line for line in instructions(build, "RUN"))

    # The final stage: the venv copied from the build stage, nothing built or installed here.
    copies = instructions(final, "COPY")
    assert any(c.startswith("--from=build") and "/opt/venv" in c for c in copies)
    for run in instructions(final, "RUN"):
        assert "pip install" not in run and "apt-get install" not in run
        assert not any(tool in run for tool in BUILD_TOOLS)

    users = instructions(final, "USER")
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}

    env = " ".join(instructions(final, "ENV"))
    assert "IAMCAP_HOST=0.0.0.0" in env
    assert instructions(final, "EXPOSE") == ["8080"]
    assert instructions(final, "STOPSIGNAL") in ([], ["SIGTERM"])
    entry = instructions(final, "ENTRYPOINT") + instructions(final, "CMD")
    assert all(e.startswith("[") for e in entry), "shell form: SIGTERM would reach /bin/sh, not the server"


def test_dockerfile_healthcheck_uses_urllib_against_healthz(dockerfile):
    final = stages(dockerfile)[-1]
    checks = instructions(final, "HEALTHCHECK")
    assert len(checks) == 1
    assert "urllib" in checks[0] and "/healthz" in checks[0]


def _healthcheck_python(dockerfile: str) -> str:
    check = instructions(stages(dockerfile)[-1], "HEALTHCHECK")[0]
    command = json.loads(check[check.index("CMD") + 3 :].strip())  # exec form: a JSON array
    assert command[:2] == ["python", "-c"]
    return command[2]


def test_both_healthchecks_pass_against_a_live_server_and_fail_without_one(dockerfile, compose, live_server):
    port = live_server.rsplit(":", 1)[1]
    compose_code = compose["services"]["iamcap"]["healthcheck"]["test"][-1].replace("8080", port)
    env = {**os.environ, "IAMCAP_PORT": port}
    for code in (_healthcheck_python(dockerfile), compose_code):
        assert subprocess.run([sys.executable, "-c", code], env=env, timeout=30).returncode == 0
    closed = {**os.environ, "IAMCAP_PORT": "1"}  # nothing listens on port 1
    result = subprocess.run(
        [sys.executable, "-c", _healthcheck_python(dockerfile)], env=closed, capture_output=True, timeout=30
    )
    assert result.returncode != 0


def test_dockerignore_keeps_the_context_small(dockerfile):
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "allow-list: everything is excluded unless named"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert {".venv", ".git", "tests"}.isdisjoint(allowed)
    # ... and everything the Dockerfile copies from the context is allowed in.
    for stage in stages(dockerfile):
        for copy in instructions(stage, "COPY"):
            if copy.startswith("--from"):
                continue
            for source in copy.split()[:-1]:
                name = source.rstrip("/")
                assert name in allowed or re.sub(r"\[(.)\]", r"\1", name) in allowed, f"{source} is ignored"
