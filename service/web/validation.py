"""aiohttp-apigami's request validation, with a fast path for the common request: no query string.

apigami's `validation_middleware` runs webargs and marshmallow on every request whose handler declares
a schema, even when there is nothing to parse: about 14 us of a policy request's ~30 us in the app
(bench/, docs/benchmarks.md). For a query-string schema, an empty query string always validates to the
same data, so the first such request of each handler goes through apigami as before, its result is
kept, and later ones get a copy of it. Anything else (a query string, path parameters, class-based
views, an empty query that fails validation) goes through apigami every time, unchanged.
"""

from __future__ import annotations

import copy

from aiohttp import web
from aiohttp_apigami import validation_middleware
from aiohttp_apigami.constants import APISPEC_VALIDATED_DATA_NAME, SCHEMAS_ATTR

# route handler -> (((request key, validated value), ...), the validated data) for a request without a
# query string; the data goes under the app's data key (apigami's `request_data_name`), read per request.
_EMPTY_QUERY: dict[object, tuple[tuple[tuple[str, object], ...], object]] = {}


async def _validated_only(request: web.Request) -> None:
    return None


def _query_only(schemas) -> bool:
    return all(schema.location == "querystring" for schema in schemas)


@web.middleware
async def validation(request: web.Request, handler) -> web.StreamResponse:
    if request.query_string:
        return await validation_middleware(request, handler)
    route_handler = request.match_info.handler
    memo = _EMPTY_QUERY.get(route_handler)
    if memo is not None:
        placed, data = memo
        for key, value in placed:
            request[key] = copy.copy(value)  # a handler may change its copy, never the next request's
        request[request.app[APISPEC_VALIDATED_DATA_NAME]] = copy.copy(data)
        return await handler(request)
    schemas = getattr(route_handler, SCHEMAS_ATTR, None)
    if schemas is None or not _query_only(schemas):
        return await validation_middleware(request, handler)
    await validation_middleware(request, _validated_only)  # raises as apigami does on invalid input
    placed = tuple((s.put_into, copy.copy(request[s.put_into])) for s in schemas if s.put_into)
    _EMPTY_QUERY[route_handler] = (placed, copy.copy(request[request.app[APISPEC_VALIDATED_DATA_NAME]]))
    return await handler(request)
