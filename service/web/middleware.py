"""The edge: one middleware that every request crosses, so the per-request cost is paid once.

It assigns the request id, refuses bodies, turns every error into problem+json, and stamps the
headers every response carries. Metrics are observed here too.
"""

from __future__ import annotations

import logging
import os
import re
import time

from aiohttp import web

from .keys import METRICS, REQUEST_ID
from .logs import current_request_id
from .problems import Problem, from_http_exception

log = logging.getLogger("iamcap.web")

REQUEST_ID_HEADER = "X-Request-ID"
CATALOG_VERSION_HEADER = "X-Catalog-Version"
# Callers' ids are echoed into headers and logs: bound them and keep them to safe characters.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def request_id_of(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return _new_request_id()


# New ids look exactly like uuid.uuid4().hex (random, version 4, RFC 4122 variant), made from a pool of
# random bytes refilled 256 ids at a time: uuid4() costs a getrandom() call and a UUID object per request.
_ID_POOL_BYTES = 16 * 256
_UUID4_MASK = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_BITS = (0x4000 << 64) | (0x8000 << 48)
_id_pool = b""
_id_at = 0


def _new_request_id() -> str:
    global _id_pool, _id_at
    at = _id_at
    if at >= len(_id_pool):
        _id_pool, at = os.urandom(_ID_POOL_BYTES), 0
    _id_at = at + 16
    return "%032x" % (int.from_bytes(_id_pool[at : at + 16], "big") & _UUID4_MASK | _UUID4_BITS)


def _forget_id_pool() -> None:
    global _id_pool, _id_at
    _id_pool, _id_at = b"", 0  # a forked worker must never hand out its parent's ids


os.register_at_fork(after_in_child=_forget_id_pool)


def route_template(request: web.Request) -> str:
    """The route's template (`/access-capabilities/aws/actions/{action}`), never the raw path, so metrics
    and logs have bounded label values."""
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


def make_edge_middleware(static_headers: dict[str, str]):
    @web.middleware
    async def edge(request: web.Request, handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        request[REQUEST_ID] = request_id
        current_request_id.set(request_id)  # every log line of this request carries it
        try:
            if request.body_exists:
                raise Problem(413, "body-not-accepted", "this service answers GET and HEAD only; send no request body")
            _refuse_missing_static_file(request)
            response = await handler(request)
        except Problem as problem:
            response = problem.response(request.path)
        except web.HTTPException as exc:
            if exc.status < 400:  # redirects and the like are answers, not errors
                response = exc
            else:
                response = from_http_exception(exc).response(request.path)
        except Exception:  # never a traceback to the client
            log.exception("unhandled error", extra={"request_id": request_id, "path": request.path})
            response = Problem(500, "internal-error", "the server failed; the request id is in the logs").response(
                request.path
            )
        headers = response.headers
        headers.update(static_headers)
        headers[REQUEST_ID_HEADER] = request_id
        if response.status >= 400 and response.content_type == "application/problem+json":
            _stamp_request_id(response, request_id)
        metrics = request.app.get(METRICS)
        if metrics is not None:
            metrics.observe(request.method, route_template(request), response.status, time.perf_counter() - started)
        return response

    return edge


def _refuse_missing_static_file(request: web.Request) -> None:
    """aiohttp's static route (/docs/static) answers a missing file with an empty octet-stream 404, found
    only while sending; refuse it before, so it becomes problem+json like every other 404."""
    resource = request.match_info.route.resource
    if isinstance(resource, web.StaticResource):
        try:
            found = resource.get_info()["directory"].joinpath(request.match_info["filename"]).is_file()
        except (OSError, ValueError):  # NUL bytes, names too long
            found = False
        if not found:
            raise web.HTTPNotFound()


def _stamp_request_id(response: web.StreamResponse, request_id: str) -> None:
    """Problem bodies carry the request id too, so a pasted error can be found in the logs."""
    body = getattr(response, "body", None)
    if isinstance(body, bytes) and body.endswith(b"}"):
        response.body = body[:-1] + b',"requestId":"' + request_id.encode() + b'"}'


def static_headers(catalog_version: str) -> dict[str, str]:
    return {
        CATALOG_VERSION_HEADER: catalog_version,
        "X-Content-Type-Options": "nosniff",
        "Server": "iamcap",  # no version banner
    }
