"""The OpenAPI contract: the committed file is what the code serves and prints, it is valid OpenAPI 3,
it covers every route, and real answers (successes and every documented error) match it."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from conftest import ROOT, iamcap_command
from service.web.keys import LIFECYCLE

CONTRACT = ROOT / "openapi" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
UNDOCUMENTED_ROUTES = re.compile(r"^/docs(/static(/.*)?)?$")  # Swagger UI and its files

# Real requests for every operation: each documented status must be produced by one of them.
# ETAG in a header is replaced by the ETag of the operation's first (200) answer.
ETAG = object()
REQUESTS: dict[str, list[tuple[str, str, dict]]] = {
    "getAbout": [("GET", "/", {}), ("GET", "/", {"If-None-Match": ETAG}), ("GET", "/?x=1", {}), ("POST", "/", {})],
    "getCapabilityMap": [
        ("GET", "/access-capabilities/aws", {}),
        ("GET", "/access-capabilities/aws?service=iam&service=s3&capability=read-data", {}),
        ("GET", "/access-capabilities/aws?service=IAM&capability=administer-resource&capability=delete-data", {}),
        ("GET", "/access-capabilities/aws", {"If-None-Match": ETAG}),
        ("GET", "/access-capabilities/aws?capability=nope", {}),
        ("GET", "/access-capabilities/aws?service=nosuchservice", {}),
        ("GET", "/access-capabilities/aws?service=bad%20prefix", {}),
        ("GET", "/access-capabilities/aws?servcie=iam", {}),
        ("DELETE", "/access-capabilities/aws", {}),
    ],
    "getCapabilityMapLegacy": [
        ("GET", "/access-capabilities", {}),
        ("GET", "/access-capabilities?service=kms", {}),
        ("GET", "/access-capabilities", {"If-None-Match": ETAG}),
        ("GET", "/access-capabilities?capability=nope", {}),
        ("GET", "/access-capabilities?service=nosuchservice", {}),
        ("PUT", "/access-capabilities", {}),
    ],
    "listServices": [
        ("GET", "/access-capabilities/aws/services", {}),
        ("GET", "/access-capabilities/aws/services", {"If-None-Match": ETAG}),
        ("GET", "/access-capabilities/aws/services?service=iam", {}),
        ("POST", "/access-capabilities/aws/services", {}),
    ],
    "matchActions": [
        ("GET", "/access-capabilities/aws/actions?pattern=iam:Create*", {}),
        ("GET", "/access-capabilities/aws/actions?pattern=s3:*Object*&pattern=ec2:Describe?pc*&capability=read-data", {}),
        ("GET", "/access-capabilities/aws/actions?pattern=iam:NoSuchThing*", {}),
        ("GET", "/access-capabilities/aws/actions?pattern=iam:Create*", {"If-None-Match": ETAG}),
        ("GET", "/access-capabilities/aws/actions", {}),
        ("GET", "/access-capabilities/aws/actions?pattern=iam", {}),
        ("GET", "/access-capabilities/aws/actions?pattern=iam:*&capability=nope", {}),
        ("POST", "/access-capabilities/aws/actions?pattern=iam:*", {}),
    ],
    "getAction": [
        ("GET", "/access-capabilities/aws/actions/iam:PassRole", {}),
        ("GET", "/access-capabilities/aws/actions/S3:GETOBJECT", {}),
        ("GET", "/access-capabilities/aws/actions/iam:PassRole", {"If-None-Match": ETAG}),
        ("GET", "/access-capabilities/aws/actions/iam:Pass*", {}),
        ("GET", "/access-capabilities/aws/actions/PassRole", {}),
        ("GET", "/access-capabilities/aws/actions/iam:" + "a" * 300, {}),
        ("GET", "/access-capabilities/aws/actions/iam:PassRole?x=1", {}),
        ("GET", "/access-capabilities/aws/actions/iam:NoSuchAction", {}),
        ("PATCH", "/access-capabilities/aws/actions/iam:PassRole", {}),
    ],
    **{
        op: [("GET", path, {}), ("GET", path, {"If-None-Match": ETAG}), ("GET", f"{path}?form=identity", {}), ("POST", path, {})]
        for op, path in (
            ("getDenyIamAdminPermissionBoundary", "/policy/aws/permission-boundary/deny-iam-admin"),
            ("getDenyIamAdminPermissionBoundaryLegacy", "/policy/permission-boundary/deny-iam-admin"),
            ("getDenyIamAdminIdentityPolicy", "/policy/aws/identity/deny-iam-admin"),
        )
    },
    "getHealth": [("GET", "/healthz", {}), ("POST", "/healthz", {})],
    "getMetrics": [("GET", "/metrics", {}), ("POST", "/metrics", {})],
    "getReadiness": [("GET", "/readyz", {}), ("POST", "/readyz", {})],  # 503: test_readiness_503_matches
    "getOpenApi": [
        ("GET", "/openapi.json", {}),
        ("GET", "/openapi.json", {"If-None-Match": ETAG}),
        ("GET", "/openapi.json?x=1", {}),
        ("POST", "/openapi.json", {}),
    ],
}
# Documented, but no real request can produce them: the policies are refused (500) only when they
# would break AWS's size limit (covered by test_policy.py at the unit level); 503 is checked below.
NOT_PRODUCIBLE = {
    ("getDenyIamAdminPermissionBoundary", "500"),
    ("getDenyIamAdminPermissionBoundaryLegacy", "500"),
    ("getDenyIamAdminIdentityPolicy", "500"),
    ("getReadiness", "503"),
}


def _operation_ids() -> list[str]:
    spec = json.loads(CONTRACT.read_text())
    return sorted(o["operationId"] for item in spec["paths"].values() for m, o in item.items() if m in METHODS)


OPERATION_IDS = _operation_ids()


@pytest.fixture(scope="module")
def committed() -> bytes:
    return CONTRACT.read_bytes()


@pytest.fixture(scope="module")
def spec(committed) -> dict:
    return json.loads(committed)


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def operation_by_id(spec: dict, op_id: str) -> tuple[str, str, dict]:
    (found,) = [(p, m, o) for p, m, o in operations(spec) if o["operationId"] == op_id]
    return found


# --- the committed file is the served and printed contract -----------------------------------------
DRIFT = "openapi/openapi.json is out of date with the code: run `make openapi` and commit the result"


async def test_committed_contract_is_what_the_app_serves(client, committed):
    response = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert response.status == 200
    assert await response.read() == committed, DRIFT


def test_committed_contract_is_what_the_cli_prints(committed):
    result = subprocess.run([*iamcap_command(), "openapi"], cwd=ROOT, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == committed, DRIFT


def test_contract_is_valid_openapi(spec):
    assert spec["openapi"].startswith("3.0")
    validate_spec(spec)


def test_no_head_operations_nor_swagger2_keys(spec):
    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                assert key not in ("produces", "consumes"), f"{where}: {key} is Swagger 2, not OpenAPI 3"
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    for path, item in spec["paths"].items():
        assert "head" not in item, path
    walk(spec, "#")


def test_operation_ids_unique_and_present(spec):
    ids = [o.get("operationId") for _, _, o in operations(spec)]
    assert all(ids)
    assert len(ids) == len(set(ids))
    missing = sorted(set(ids) - set(REQUESTS))
    assert not missing, f"add real requests for {missing} to REQUESTS"


async def test_every_served_route_is_in_the_contract(client, spec):
    served = set()
    for route in client.app.router.routes():
        path = route.resource.canonical
        if UNDOCUMENTED_ROUTES.match(path):
            continue
        served.add(path)
        method = route.method.lower()
        if method == "head":
            assert "get" in spec["paths"].get(path, {}), f"HEAD {path} without a documented GET"
        else:
            assert method in spec["paths"].get(path, {}), f"{route.method} {path} is served but not documented"
    assert served == set(spec["paths"]), "every documented path is served"


# --- real answers match the documented responses ----------------------------------------------------
def validate_body(spec: dict, schema: dict, body, where: str) -> None:
    validator = OAS30Validator({"allOf": [schema], "components": spec["components"]})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{where}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def check_response(spec: dict, operation: dict, status: int, headers, raw: bytes, where: str) -> str:
    """Assert the answer is documented; return the documented status key it matched."""
    responses = operation["responses"]
    key = str(status)
    if key not in responses:
        assert status >= 400 and "default" in responses, f"{where}: status {status} is not documented"
        key = "default"
    documented = responses[key]
    for name in ("X-Request-ID", "X-Catalog-Version"):
        assert name in documented.get("headers", {}), f"{where}: {name} not documented"
        assert name in headers, f"{where}: {name} missing"
    if status == 200 and "ETag" in documented.get("headers", {}):
        assert "ETag" in headers and "Cache-Control" in headers, where
    content = documented.get("content")
    if not content:
        assert raw == b"", f"{where}: body sent where none is documented"
        return key
    media = headers["Content-Type"].split(";")[0].strip()
    matching = [c for c in content if c.split(";")[0].strip() == media]
    assert matching, f"{where}: {media} not documented ({sorted(content)})"
    body = json.loads(raw) if media.endswith("json") else raw.decode()
    validate_body(spec, content[matching[0]]["schema"], body, where)
    return key


@pytest.mark.parametrize("op_id", OPERATION_IDS)
async def test_real_answers_match_the_contract(client, spec, op_id):
    assert op_id in REQUESTS, f"add real requests for {op_id} to REQUESTS"
    path, method, operation = operation_by_id(spec, op_id)
    etag = None
    seen = set()
    for verb, url, headers in REQUESTS[op_id]:
        assert urlsplit(url).path == path or re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), urlsplit(url).path)
        headers = {"Accept-Encoding": "identity", **headers}
        if headers.get("If-None-Match") is ETAG:
            assert etag, "a 200 with an ETag comes first"
            headers["If-None-Match"] = etag
        response = await client.request(verb, url, headers=headers)
        raw = await response.read()
        if response.status == 200 and etag is None:
            etag = response.headers.get("ETag")
        seen.add(check_response(spec, operation, response.status, response.headers, raw, f"{verb} {url}"))
    documented = set(operation["responses"]) - {key for op, key in NOT_PRODUCIBLE if op == op_id}
    assert documented <= seen, f"{op_id}: documented but never produced here: {sorted(documented - seen)}"


async def test_readiness_503_matches(client, spec):
    """While draining (what SIGTERM sets), /readyz answers 503 with its documented schema."""
    _, _, operation = operation_by_id(spec, "getReadiness")
    client.app[LIFECYCLE].draining = True
    response = await client.get("/readyz")
    assert response.status == 503
    check_response(spec, operation, 503, response.headers, await response.read(), "GET /readyz (draining)")


@pytest.mark.parametrize("op_id", OPERATION_IDS)
async def test_documented_query_parameters_are_accepted(client, spec, op_id):
    """Each documented query parameter, given a valid value, is not refused as unknown."""
    path, _, operation = operation_by_id(spec, op_id)
    valid = {"service": "iam", "capability": "read-config", "pattern": "iam:Get*"}
    query = {p["name"]: valid[p["name"]] for p in operation.get("parameters", []) if p.get("in") == "query"}
    if not query:
        return
    url = re.sub(r"\{action\}", "iam:PassRole", path)
    response = await client.get(url, params=query)
    assert response.status == 200, await response.text()


# --- the docs page works offline -------------------------------------------------------------------
class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


async def test_docs_page_is_served_offline(client):
    response = await client.get("/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    html = await response.text()
    parser = _Assets()
    parser.feed(html)
    assert any(u.endswith(".js") for u in parser.urls), "Swagger UI's script"
    assert any(u.endswith(".css") for u in parser.urls), "Swagger UI's stylesheet"
    for url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} would need the network"
        asset = await client.get(url)
        assert asset.status == 200, url
        assert await asset.read(), url
    spec_url = re.search(r'url:\s*"([^"]+)"', html)
    assert spec_url, "the page points Swagger UI at the contract"
    assert (await client.get(spec_url.group(1))).status == 200
