"""IAM action patterns (`iam:Create*`, `s3:*Object*`, `ec2:Describe?pc*`), matched as IAM matches them:
case-insensitively, `*` any run of characters, `?` exactly one.

Matching is greedy and leftmost per literal segment, which is exact for globs (each segment between
stars has a fixed length), and linear in the action name: no regex backtracking on hostile patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PATTERN_LENGTH = 256
_ALLOWED = re.compile(r"[A-Za-z0-9:_\-.*?]+")
# What `compile_pattern` accepts, as a JSON Schema (ECMA) regex for the contract: `*`, or `service:action`.
PATTERN_SYNTAX = r"^(\*|[A-Za-z0-9_.*?\-]+:[A-Za-z0-9_.*?\-]+)$"
_WILDCARD_RUN = re.compile(r"[*?]*\*[*?]*")


class PatternError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class _Segment:
    regex: re.Pattern[str]
    width: int

    @classmethod
    def of(cls, text: str) -> "_Segment":
        source = "".join("." if ch == "?" else re.escape(ch) for ch in text)
        return cls(re.compile(source, re.DOTALL), len(text))


@dataclass(frozen=True, slots=True)
class ActionPattern:
    text: str
    service: str | None  # the service prefix when it has no wildcard: only that service is scanned
    segments: tuple[_Segment, ...]  # the literal parts between stars; one segment: no star at all

    def matches(self, key: str) -> bool:
        """`key` is a lower-cased `prefix:action`."""
        first, last = self.segments[0], self.segments[-1]
        if len(self.segments) == 1:
            return len(key) == first.width and first.regex.fullmatch(key) is not None
        if first.regex.match(key) is None:
            return False
        pos = first.width
        for segment in self.segments[1:-1]:
            found = segment.regex.search(key, pos)
            if found is None:
                return False
            pos = found.end()
        tail = len(key) - last.width
        return tail >= pos and last.regex.fullmatch(key, tail) is not None


def compile_pattern(text: str) -> ActionPattern:
    if not text:
        raise PatternError("the pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    if not _ALLOWED.fullmatch(text):
        raise PatternError("a pattern holds only letters, digits, ':', '_', '-', '.', '*' and '?'")
    lowered = text.lower()
    if lowered != "*" and (lowered.count(":") != 1 or lowered.startswith(":") or lowered.endswith(":")):
        raise PatternError("a pattern is `service:action`, e.g. `iam:Create*`, or `*` for every action")
    prefix = lowered.split(":", 1)[0]
    service = prefix if "*" not in prefix and "?" not in prefix else None
    # A run of wildcards with k `?` and a `*` means "k or more characters": write it `?`*k then one `*`,
    # so a hostile `*?*?*?...` is one segment to search, not a hundred (same matches, linear time).
    lowered = _WILDCARD_RUN.sub(lambda run: "?" * run.group().count("?") + "*", lowered)
    segments = tuple(_Segment.of(part) for part in lowered.split("*"))
    return ActionPattern(text, service, segments)
