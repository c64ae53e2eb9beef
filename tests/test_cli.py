"""The `iamcap` CLI, as a real subprocess: it answers offline exactly what the API answers."""

from __future__ import annotations

import json
import subprocess

import pytest
from openapi_spec_validator import validate as validate_spec

from conftest import ROOT, iamcap_command

CONSOLE_SCRIPT = ROOT / ".venv" / "bin" / "iamcap"


def run(*args: str, command: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*(command or iamcap_command()), *args], cwd=ROOT, capture_output=True, text=True, check=False)


async def endpoint_json(client, path: str, **params):
    response = await client.get(path, params=params or None)
    assert response.status == 200, await response.text()
    return json.loads(await response.text())


def same_json(printed: str, served) -> None:
    """Equal values, and in the same order (the order is part of the answer: sorted lists, keys)."""
    parsed = json.loads(printed)
    assert parsed == served
    assert json.dumps(parsed) == json.dumps(served)


async def test_capabilities_filtered_equals_endpoint(client):
    result = run("capabilities", "--service", "iam", "--capability", "administer-resource")
    assert result.returncode == 0, result.stderr
    served = await endpoint_json(client, "/access-capabilities/aws", service="iam", capability="administer-resource")
    same_json(result.stdout, served)


async def test_capabilities_repeated_filters_equal_endpoint(client):
    result = run("capabilities", "--service", "S3", "--service", "kms", "--capability", "read-data", "--capability", "delete-data")
    assert result.returncode == 0, result.stderr
    response = await client.get(
        "/access-capabilities/aws",
        params=[("service", "S3"), ("service", "kms"), ("capability", "read-data"), ("capability", "delete-data")],
    )
    same_json(result.stdout, json.loads(await response.text()))


async def test_explain_equals_endpoint(client):
    result = run("explain", "iam:PassRole")
    assert result.returncode == 0, result.stderr
    same_json(result.stdout, await endpoint_json(client, "/access-capabilities/aws/actions/iam:PassRole"))
    upper = run("explain", "IAM:PASSROLE")
    assert json.loads(upper.stdout) == json.loads(result.stdout)


def test_explain_unknown_action_fails_on_stderr():
    result = run("explain", "nope:Nope")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "nope:Nope" in result.stderr


async def test_explain_pattern_expands(client):
    result = run("explain", "iam:Create*")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    served = await endpoint_json(client, "/access-capabilities/aws/actions", pattern="iam:Create*")
    same_json(result.stdout, served)
    assert printed["count"] > 1
    assert all(a["action"].lower().startswith("iam:create") for a in printed["actions"])


def test_explain_bad_pattern_fails():
    result = run("explain", "iam:Pass Role*")
    assert result.returncode != 0
    assert result.stderr.strip()


def test_openapi_is_valid_and_is_the_committed_contract():
    result = subprocess.run([*iamcap_command(), "openapi"], cwd=ROOT, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    validate_spec(json.loads(result.stdout))
    assert result.stdout == (ROOT / "openapi" / "openapi.json").read_bytes(), "run `make openapi`"


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="the console script is installed by `make install`")
async def test_console_script_is_the_same_program(client):
    result = run("explain", "s3:GetObject", command=[str(CONSOLE_SCRIPT)])
    assert result.returncode == 0, result.stderr
    same_json(result.stdout, await endpoint_json(client, "/access-capabilities/aws/actions/s3:GetObject"))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["capabilities", "--capability", "admin"],
        ["policy", "deny-everything"],
        ["policy", "deny-iam-admin", "--form", "inline"],
        ["explain"],
        ["explain", "iam:PassRole", "extra"],
        ["capabilities", "--no-such-flag"],
    ],
)
def test_bad_arguments_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage:" in result.stderr


def test_unknown_service_is_an_error():
    result = run("capabilities", "--service", "nosuchservice")
    assert result.returncode != 0
    assert "nosuchservice" in result.stderr
    assert result.stdout == ""


def test_help_lists_the_configuration():
    result = run("serve", "--help")
    assert result.returncode == 0
    for name in ("IAMCAP_PORT", "IAMCAP_HOST", "IAMCAP_CATALOG_DIR"):
        assert name in result.stdout


def test_output_is_a_clean_pipe():
    """`iamcap capabilities | head -c 100`: the reader going away is not an error."""
    proc = subprocess.Popen(
        [*iamcap_command(), "capabilities"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout.read(100)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err
    assert proc.returncode == 0
