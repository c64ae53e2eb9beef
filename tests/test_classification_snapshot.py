"""The committed classification summary (tests/snapshots/classification-summary.json) matches the live
index, so a catalog upgrade or a classifier change cannot move actions between capabilities, or in and
out of the IAM deny list, without a reviewed diff."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.capabilities import CAPABILITIES, Capability
from service.report import classification_summary, diff_summaries

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "snapshots" / "classification-summary.json"
REGENERATE = (
    "If the change is deliberate, regenerate the snapshot and review the diff before committing it:\n"
    "  after a catalog upgrade:     make refresh-catalog\n"
    "  after a classifier change:   .venv/bin/iamcap summary > tests/snapshots/classification-summary.json\n"
    "then: git diff tests/snapshots/  (check every service, capability and IAM deny-list change is intended)"
)


def canonical(summary: dict) -> str:
    return json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def committed() -> dict:
    if not SNAPSHOT.is_file():
        pytest.fail(f"{SNAPSHOT.relative_to(ROOT)} is missing.\n{REGENERATE}")
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def live(index) -> dict:
    return classification_summary(index)


def test_live_classification_matches_the_committed_snapshot(committed, live):
    if live != committed:
        lines = diff_summaries(committed, live)
        pytest.fail(
            "The classification differs from the committed snapshot "
            f"({SNAPSHOT.relative_to(ROOT)}), committed → live:\n  "
            + "\n  ".join(lines)
            + "\n\n"
            + REGENERATE,
            pytrace=False,
        )


def test_snapshot_is_exactly_what_iamcap_summary_prints():
    """The file is generated, not hand-edited: `iamcap summary` output, keys sorted, so diffs stay clean."""
    result = subprocess.run([sys.executable, "-m", "service.cli", "summary"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert result.stdout == canonical(printed), "`iamcap summary` must print sorted keys, 2-space indent"
    text = SNAPSHOT.read_text(encoding="utf-8")
    assert text == canonical(json.loads(text)), (
        f"{SNAPSHOT.relative_to(ROOT)} is not in the canonical form `iamcap summary` prints.\n{REGENERATE}"
    )


def test_summary_agrees_with_the_index(index, live):
    assert live["catalogVersion"] == index.catalog_version
    assert live["classifierVersion"] == index.classifier_version
    assert live["actionCount"] == len(index)
    assert set(live["services"]) == {s.prefix for s in index.services}
    assert sum(s["actions"] for s in live["services"].values()) == len(index)
    for cap in CAPABILITIES:
        holders = [i for i in index.actions if cap in i.classification.capabilities]
        assert live["totals"][cap.value] == len(holders)
        assert sum(s["capabilities"].get(cap.value, 0) for s in live["services"].values()) == len(holders)
    for prefix in ("iam", "s3", "kms", "sts"):
        counts = {
            cap.value: n
            for cap in CAPABILITIES
            if (n := sum(1 for i in index.service_actions(prefix) if cap in i.classification.capabilities))
        }
        assert live["services"][prefix]["capabilities"] == counts, prefix
    assert all(n > 0 for s in live["services"].values() for n in s["capabilities"].values()), "zero counts are left out"


def test_summary_deny_list_is_every_iam_admin_action(index, live):
    admin = Capability.ADMINISTER_RESOURCE
    expected = sorted((i.key for i in index.service_actions("iam") if admin in i.classification.capabilities), key=str.lower)
    assert live["iamDenyList"] == expected
    assert "iam:PassRole" in live["iamDenyList"] and "iam:AttachRolePolicy" in live["iamDenyList"]
    assert "iam:GetRole" not in live["iamDenyList"]


# ---------------------------------------------------------------------------------------------------
# The diff a reader sees when the snapshot test fails
def test_diff_of_equal_summaries_is_empty(live):
    assert diff_summaries(live, copy.deepcopy(live)) == []


def test_diff_names_what_moved_and_by_how_much(live):
    old = copy.deepcopy(live)
    new = copy.deepcopy(live)
    new["classifierVersion"] = "9.9.9"
    s3 = new["services"]["s3"]["capabilities"]
    s3["read-data"] = s3.get("read-data", 0) + 3
    s3["read-config"] = s3["read-config"] - 3
    new["services"]["zz-new"] = {"actions": 2, "capabilities": {"administer-resource": 2}}
    gone = "sts"
    del new["services"][gone]
    new["totals"]["read-data"] += 3
    left = new["iamDenyList"].pop(0)
    new["iamDenyList"].append("iam:MadeUpAdminAction")

    text = "\n".join(diff_summaries(old, new))
    old_rd = old["services"]["s3"]["capabilities"].get("read-data", 0)
    assert f"classifierVersion: {old['classifierVersion']!r} → '9.9.9'" in text
    assert f"service s3: read-config {old['services']['s3']['capabilities']['read-config']} → " in text
    assert f"read-data {old_rd} → {old_rd + 3} (+3)" in text
    assert "(-3)" in text
    assert "service zz-new: new, 2 actions: administer-resource 2" in text
    assert f"service {gone}: gone, had {old['services'][gone]['actions']} actions" in text
    assert f"totals: read-data {old['totals']['read-data']} → {old['totals']['read-data'] + 3} (+3)" in text
    assert "entered (1): iam:MadeUpAdminAction" in text
    assert f"left (1): {left}" in text


def test_diff_reports_a_change_it_does_not_itemise(live):
    new = copy.deepcopy(live)
    new["somethingNew"] = {"a": 1}
    assert diff_summaries(live, new) == ["somethingNew: None → {'a': 1}"]
