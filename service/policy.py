"""The Deny IAM Admin policies (see docs/policies.md): one deny list, two forms."""

from __future__ import annotations

import json
from enum import Enum

from .capabilities import Capability
from .index import CapabilityIndex

POLICY_VERSION = "2012-10-17"
DENY_SID = "DenyIAMAdministerResource"
ALLOW_SID = "AllowPermissionsGrantedByOtherPolicies"
# A managed policy holds at most 6,144 characters, whitespace not counted. Both forms are meant to be
# created as managed policies, so both are held to it.
MANAGED_POLICY_LIMIT = 6144


class PolicyForm(str, Enum):
    PERMISSION_BOUNDARY = "permission-boundary"
    IDENTITY = "identity"


class PolicyTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the policy would hold {size} characters, over AWS's limit of {limit}")
        self.size, self.limit = size, limit


def deny_iam_admin_actions(index: CapabilityIndex) -> tuple[str, ...]:
    """The IAM actions holding administer-resource, AWS casing, sorted case-insensitively, unique."""
    keys = {i.key for i in index.service_actions("iam") if Capability.ADMINISTER_RESOURCE in i.classification.capabilities}
    return tuple(sorted(keys, key=str.lower))


def deny_iam_admin_policy(actions: tuple[str, ...], form: PolicyForm) -> dict:
    statements = [{"Sid": DENY_SID, "Effect": "Deny", "Action": list(actions), "Resource": "*"}]
    if form is PolicyForm.PERMISSION_BOUNDARY:
        statements.append({"Sid": ALLOW_SID, "Effect": "Allow", "Action": "*", "Resource": "*"})
    return {"Version": POLICY_VERSION, "Statement": statements}


def policy_size(policy: dict) -> int:
    """Characters AWS counts against the limit: the document without whitespace."""
    return len(json.dumps(policy, separators=(",", ":"), ensure_ascii=False))


def render_policy(policy: dict, limit: int = MANAGED_POLICY_LIMIT) -> bytes:
    """The document as pasted into AWS: stable, indented, newline-terminated. Refuses, never truncates."""
    size = policy_size(policy)
    if size > limit:
        raise PolicyTooLarge(size, limit)
    return (json.dumps(policy, indent=2, ensure_ascii=False) + "\n").encode()


def build_deny_iam_admin(index: CapabilityIndex, form: PolicyForm) -> bytes:
    return render_policy(deny_iam_admin_policy(deny_iam_admin_actions(index), form))
