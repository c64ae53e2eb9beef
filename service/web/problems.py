"""Errors as RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web

from ..documents import dump_json

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:iamcap:problem:"


class Problem(Exception):
    """Raised by handlers and middleware; the edge middleware turns it into a response."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict | None = None, **extensions) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict:
        body = {
            "type": f"{PROBLEM_TYPE_BASE}{self.slug}",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extensions)
        return body

    def response(self, instance: str | None = None) -> web.Response:
        response = web.Response(
            status=self.status, body=dump_json(self.body(instance)), content_type=PROBLEM_JSON, headers=self.headers
        )
        return response


def invalid_parameter(detail: str, **extensions) -> Problem:
    return Problem(400, "invalid-parameter", detail, **extensions)


# aiohttp's own HTTP errors (unknown path, wrong method, ...) mapped to problem slugs.
HTTP_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    431: "request-header-fields-too-large",
    500: "internal-error",
    503: "unavailable",
}


def from_http_exception(exc: web.HTTPException) -> Problem:
    status = exc.status
    headers = {}
    detail = exc.reason
    if status == 404:
        detail = "no such resource; GET / lists what this service serves"
    elif status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = sorted(exc.allowed_methods)
        headers["Allow"] = ", ".join(allowed)
        detail = f"this resource answers {', '.join(allowed)} only"
    return Problem(status, HTTP_SLUGS.get(status, "http-error"), detail, headers=headers)
