"""The docs that quote the running code must quote it as it is now."""

from __future__ import annotations

from pathlib import Path

from service.report import build_report

ROOT = Path(__file__).resolve().parent.parent
REPORT_HEADING = "## Classification report\n"


def test_classification_doc_carries_the_current_report(index):
    doc = (ROOT / "docs" / "classification.md").read_text(encoding="utf-8")
    assert REPORT_HEADING in doc, "docs/classification.md lost its report section"
    pasted = doc[doc.index(REPORT_HEADING):]
    assert pasted == build_report(index, markdown=True), (
        "the report in docs/classification.md is stale: run `make report-docs` and review the diff"
    )
