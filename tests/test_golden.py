"""The classifier against the golden set: actions whose capabilities we wrote down by hand, from AWS's
descriptions and the principles in docs/classification.md, before and independently of the rules.

Every entry must match exactly. The set is data (tests/golden/golden_set.csv), so a reviewer can
challenge an entry without reading code; a changed expectation needs its reason changed too."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from service.capabilities import CAPABILITY_NAMES

GOLDEN = Path(__file__).parent / "golden" / "golden_set.csv"


def _rows() -> list[dict[str, str]]:
    with GOLDEN.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ROWS = _rows()


def test_golden_set_is_broad_and_well_formed(index):
    services = Counter(row["action"].split(":")[0] for row in ROWS)
    assert len(ROWS) >= 500, len(ROWS)
    assert len(services) >= 40, sorted(services)
    for heavy in ("s3", "dynamodb", "kms", "sqs", "sns", "lambda", "secretsmanager", "ssm", "ec2", "iam", "sts"):
        assert services[heavy] >= 10 or heavy == "sts" and services[heavy] >= 5, heavy
    seen = set()
    for row in ROWS:
        assert row["reason"].strip(), row
        key = row["action"].lower()
        assert key not in seen, f"{row['action']} listed twice"
        seen.add(key)
        item = index.lookup(row["action"])
        assert item is not None, f"{row['action']} is not in the catalog"
        assert item.key == row["action"], f"casing: AWS writes {item.key}"
        caps = row["capabilities"].split("|")
        assert caps and set(caps) <= set(CAPABILITY_NAMES), row


@pytest.mark.parametrize("row", ROWS, ids=[row["action"] for row in ROWS])
def test_classifier_matches_golden_entry(index, row):
    item = index.lookup(row["action"])
    got = [c.value for c in item.classification.capabilities]
    expected = [c for c in CAPABILITY_NAMES if c in row["capabilities"].split("|")]
    why = "; ".join(f"{r.capability.value}: {r.explanation}" for r in item.classification.reasons)
    assert got == expected, f"{row['action']}: expected {expected} ({row['reason']}); got {got} because {why}"
