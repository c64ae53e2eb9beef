"""HTTP handlers: translate a request to a question for the index and the answer back. Nothing else."""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web
from aiohttp_apigami import docs, match_info_schema, querystring_schema, response_schema

from ..capabilities import CAPABILITY_NAMES, Capability
from ..documents import Document, dump_json
from ..index import CapabilityIndex
from ..patterns import PatternError, compile_pattern
from ..views import action_view
from . import schemas
from .keys import DOCUMENTS, INDEX, LIFECYCLE, METRICS
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .problems import Problem, invalid_parameter
from .responses import cache_documents, serve

QUERY = "querystring"  # where aiohttp-apigami puts validated query parameters
PROBLEM_400 = "Invalid parameter: unknown, repeated where single, malformed, or an unknown service or capability."


class NoQuery(schemas.StrictQuery):
    """Routes that take no query parameter refuse any: `?form=identity` on the boundary must not
    silently answer the boundary (whose Allow `*` would grant everything if attached as identity)."""


PROBLEM_400_NO_QUERY = "A query parameter was sent; this operation takes none."


# RFC 9745: the date the older paths were deprecated, as a structured-field date (2026-12-04T00:00:00Z).
DEPRECATED_SINCE = "@1796342400"


def _deprecated(successor: str) -> dict[str, str]:
    return {"Deprecation": DEPRECATED_SINCE, "Link": f'<{successor}>; rel="successor-version"'}


# --- access capabilities ----------------------------------------------------------------------------
@docs(
    tags=["access-capabilities"],
    summary="The access-capability map of every AWS service",
    description=(
        "`{service name: {capability: [prefix:Action, ...]}}`. Service names as AWS publishes them; "
        "capabilities a service lacks are left out; actions sorted case-insensitively. Filter with "
        "`service` (prefix, repeatable) and `capability` (repeatable)."
    ),
    operation_id="getCapabilityMap",
)
@querystring_schema(schemas.CapabilityMapQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400)
async def capability_map(request: web.Request) -> web.Response:
    query = request[QUERY]
    services = query.get("service")
    capabilities = query.get("capability")
    if not services and not capabilities:
        return serve(request, request.app[DOCUMENTS].capability_map)
    index = request.app[INDEX]
    if services:
        unknown = sorted({s for s in services if index.service(s) is None})
        if unknown:
            raise Problem(
                400, "unknown-service", f"unknown service prefix: {', '.join(unknown)}; "
                "GET /access-capabilities/aws/services lists them", errors={"service": unknown}
            )
    return serve(request, _filtered_map(index, _key(services), _key(capabilities)))


@docs(
    tags=["access-capabilities"],
    summary="The access-capability map (deprecated path)",
    description="Older path of `GET /access-capabilities/aws`; same answer. Use the new path.",
    deprecated=True,
    operation_id="getCapabilityMapLegacy",
)
@querystring_schema(schemas.CapabilityMapQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400)
async def capability_map_legacy(request: web.Request) -> web.Response:
    response = await capability_map(request)
    response.headers.update(_deprecated("/access-capabilities/aws"))
    return response


def _key(values) -> tuple[str, ...] | None:
    return tuple(sorted({v.lower() for v in values})) if values else None


@cache_documents(max_bytes=32 << 20)
def _filtered_map(index: CapabilityIndex, services, capabilities) -> Document:
    caps = [Capability(c) for c in CAPABILITY_NAMES if capabilities is None or c in capabilities]
    return Document.of_json(index.capability_map(services, caps))


@docs(
    tags=["access-capabilities"],
    summary="Every service: prefix, name and action counts per capability",
    operation_id="listServices",
)
@querystring_schema(NoQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400_NO_QUERY)
@response_schema(schemas.ServiceList, 200, description="Services, sorted by prefix.")
async def services(request: web.Request) -> web.Response:
    return serve(request, request.app[DOCUMENTS].services)


@docs(
    tags=["access-capabilities"],
    summary="One action: its capabilities and why",
    description=(
        "Case-insensitive, as IAM matches actions. Each capability comes with the rule or reviewed "
        "exception that put it there. For wildcards use `GET /access-capabilities/aws/actions?pattern=`."
    ),
    operation_id="getAction",
)
@match_info_schema(schemas.ActionPath)
@querystring_schema(NoQuery)
@response_schema(schemas.ActionDetail, 200, description="The action, its capabilities and the reason for each.")
@response_schema(schemas.Problem, 400, description="Not a `service:Action` name (wildcards belong in `?pattern=`).")
@response_schema(schemas.Problem, 404, description="No such action in the catalog.")
async def action(request: web.Request) -> web.Response:
    name = request.match_info["action"]
    if "*" in name or "?" in name:
        raise invalid_parameter(
            "wildcards are expanded by GET /access-capabilities/aws/actions?pattern=...", errors={"action": [name]}
        )
    service, colon, action_name = name.partition(":")
    if not (service and colon and action_name):
        raise invalid_parameter("an action is `service:Action`, e.g. `iam:PassRole`", errors={"action": [name]})
    item = request.app[INDEX].lookup(name)
    if item is None:
        raise Problem(404, "unknown-action", f"no action {name!r} in catalog {request.app[INDEX].catalog_version}")
    return serve(request, _action_document(request.app[INDEX], item.key))


@lru_cache(maxsize=4096)
def _action_document(index: CapabilityIndex, key: str) -> Document:
    return Document.of_bytes(_action_json(index, key))


@lru_cache(maxsize=None)  # bounded by the catalog: ~10 MB for every action
def _action_json(index: CapabilityIndex, key: str) -> bytes:
    return dump_json(action_view(index.lookup(key)))


@docs(
    tags=["access-capabilities"],
    summary="Expand IAM action patterns (`iam:Create*`, `s3:*Object*`) to actions, capabilities and why",
    description=(
        "Wildcards as IAM reads them: `*` any run of characters, `?` one, case-insensitive. Repeat "
        "`pattern` for several (the union is returned, each action once, sorted). `capability` keeps only "
        "actions holding one of the given capabilities. A pattern matching nothing is not an error."
    ),
    operation_id="matchActions",
)
@querystring_schema(schemas.ActionSearchQuery)
@response_schema(schemas.ActionMatches, 200, description="The matching actions.")
@response_schema(schemas.Problem, 400, description=PROBLEM_400)
async def match_actions(request: web.Request) -> web.Response:
    query = request[QUERY]
    patterns = tuple(dict.fromkeys(query["pattern"]))
    for text in patterns:
        try:
            compile_pattern(text)
        except PatternError as exc:
            raise invalid_parameter(f"pattern {text!r}: {exc}", errors={"pattern": [str(exc)]}) from None
    return serve(request, _matches(request.app[INDEX], patterns, _key(query.get("capability"))))


@cache_documents(max_bytes=64 << 20)
def _matches(index: CapabilityIndex, patterns: tuple[str, ...], capabilities) -> Document:
    items = index.match(compile_pattern(p) for p in patterns)
    if capabilities:
        wanted = {Capability(c) for c in capabilities}
        items = tuple(i for i in items if wanted.intersection(i.classification.capabilities))
    # views.match_view's JSON, joined from each action's cached bytes: `*` (10 MB) in milliseconds.
    actions = b",".join(_action_json(index, i.key) for i in items)
    head = b'{"patterns":' + dump_json(list(patterns)) + b',"count":' + str(len(items)).encode()
    return Document.of_bytes(head + b',"actions":[' + actions + b"]}")


# --- policies -------------------------------------------------------------------------------------
_BOUNDARY = (
    "Statement `DenyIAMAdministerResource` denies every IAM action holding `administer-resource`; "
    "statement `AllowPermissionsGrantedByOtherPolicies` lets through what other policies grant. Set it "
    "as a role's or user's permissions boundary. Never attach it as an identity policy: its Allow `*` "
    "would grant everything."
)


@docs(
    tags=["policies"],
    summary="Deny IAM Admin, as a permissions boundary",
    description=_BOUNDARY,
    operation_id="getDenyIamAdminPermissionBoundary",
)
@querystring_schema(NoQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400_NO_QUERY)
@response_schema(schemas.PolicyDocument, 200, description="The policy document, ready to paste into AWS.")
@response_schema(schemas.Problem, 500, description="The policy would break AWS's size limit: refused, never truncated.")
async def permission_boundary(request: web.Request) -> web.Response:
    return _serve_policy(request, request.app[DOCUMENTS].permission_boundary)


@docs(
    tags=["policies"],
    summary="Deny IAM Admin, as a permissions boundary (deprecated path)",
    description="Older path of `GET /policy/aws/permission-boundary/deny-iam-admin`; same bytes.",
    deprecated=True,
    operation_id="getDenyIamAdminPermissionBoundaryLegacy",
)
@querystring_schema(NoQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400_NO_QUERY)
@response_schema(schemas.PolicyDocument, 200, description="The policy document, ready to paste into AWS.")
@response_schema(schemas.Problem, 500, description="The policy would break AWS's size limit: refused, never truncated.")
async def permission_boundary_legacy(request: web.Request) -> web.Response:
    return _serve_policy(
        request,
        request.app[DOCUMENTS].permission_boundary,
        headers=_deprecated("/policy/aws/permission-boundary/deny-iam-admin"),
    )


@docs(
    tags=["policies"],
    summary="Deny IAM Admin, as an identity policy",
    description="Only the `DenyIAMAdministerResource` statement: attach it as a managed or inline policy.",
    operation_id="getDenyIamAdminIdentityPolicy",
)
@querystring_schema(NoQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400_NO_QUERY)
@response_schema(schemas.PolicyDocument, 200, description="The policy document, ready to paste into AWS.")
@response_schema(schemas.Problem, 500, description="The policy would break AWS's size limit: refused, never truncated.")
async def identity_policy(request: web.Request) -> web.Response:
    return _serve_policy(request, request.app[DOCUMENTS].identity_policy)


def _serve_policy(request: web.Request, policy: Document | Problem, headers: dict | None = None) -> web.Response:
    if isinstance(policy, Problem):  # built at startup, refused for breaking AWS's size limit
        raise policy
    return serve(request, policy, headers=headers)


# --- service ----------------------------------------------------------------------------------------
@docs(tags=["service"], summary="What this service is, its versions and links", operation_id="getAbout")
@querystring_schema(NoQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400_NO_QUERY)
@response_schema(schemas.About, 200, description="Service, catalog and classifier versions; links.")
async def about(request: web.Request) -> web.Response:
    return serve(request, request.app[DOCUMENTS].about)


@docs(tags=["service"], summary="Liveness: the process runs", operation_id="getHealth")
@response_schema(schemas.Health, 200, description="Alive.")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@docs(
    tags=["service"],
    summary="Readiness: the index is loaded and the process is not draining",
    operation_id="getReadiness",
)
@response_schema(schemas.Readiness, 200, description="Ready to serve.")
@response_schema(schemas.Readiness, 503, description="Loading or draining: send traffic elsewhere.")
async def readyz(request: web.Request) -> web.Response:
    lifecycle = request.app[LIFECYCLE]
    index = request.app[INDEX]
    headers = {"Cache-Control": "no-store"}
    if lifecycle.draining:
        return web.json_response({"status": "draining"}, status=503, headers=headers)
    if not lifecycle.ready:
        return web.json_response({"status": "loading"}, status=503, headers=headers)
    body = {"status": "ready", "catalogVersion": index.catalog_version, "actionCount": len(index)}
    return web.json_response(body, headers=headers)


@docs(tags=["service"], summary="This contract, OpenAPI 3", operation_id="getOpenApi")
@querystring_schema(NoQuery)
@response_schema(schemas.Problem, 400, description=PROBLEM_400_NO_QUERY)
async def openapi(request: web.Request) -> web.Response:
    return serve(request, request.app[DOCUMENTS].openapi)


@docs(
    tags=["service"],
    summary="Prometheus metrics",
    description=(
        "Prometheus text format 0.0.4: `iamcap_http_requests_total` and `iamcap_http_request_duration_seconds` "
        "by method, route template and status; `iamcap_index_actions`, `iamcap_index_services`; "
        "`iamcap_catalog_info` (versions as labels). With several workers, the sums over all of them."
    ),
    operation_id="getMetrics",
)
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE, "Cache-Control": "no-store"})
