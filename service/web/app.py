"""The application factory: routes, the edge middleware, prebuilt documents, the contract."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web
from aiohttp_apigami.swagger_ui import NAME_SWAGGER_SPEC, SwaggerUIManager

from ..config import Config
from ..documents import Document
from ..index import CapabilityIndex
from ..policy import PolicyForm, PolicyTooLarge, build_deny_iam_admin
from ..views import about_view, services_view
from . import handlers
from .keys import CONFIG, DOCUMENTS, INDEX, LIFECYCLE, METRICS, Documents, Lifecycle
from .metrics import Metrics
from .middleware import make_edge_middleware, static_headers
from .openapi import setup_openapi
from .problems import Problem
from .validation import validation

# Bounds on what a caller may send: GET-only routes need little. The request line must still hold the
# longest URL the contract allows (20 patterns of 256 characters, percent-encoded: ~15.8 kB).
MAX_LINE_SIZE = 16384
MAX_FIELD_SIZE = 8190
MAX_HEADERS = 100


def _policy_document(index: CapabilityIndex, form: PolicyForm) -> Document | Problem:
    try:
        return Document.of_bytes(build_deny_iam_admin(index, form))
    except PolicyTooLarge as exc:
        return Problem(500, "policy-too-large", f"{exc}; refused rather than truncated")


def build_documents(index: CapabilityIndex) -> Documents:
    return Documents(
        about=Document.of_json(about_view(index), pretty=True),
        capability_map=Document.of_json(index.capability_map()),
        services=Document.of_json(services_view(index)),
        permission_boundary=_policy_document(index, PolicyForm.PERMISSION_BOUNDARY),
        identity_policy=_policy_document(index, PolicyForm.IDENTITY),
    )


def _routes(app: web.Application) -> None:
    add = app.router.add_get
    add("/", handlers.about)
    add("/access-capabilities/aws", handlers.capability_map)
    add("/access-capabilities", handlers.capability_map_legacy)
    add("/access-capabilities/aws/services", handlers.services)
    add("/access-capabilities/aws/actions", handlers.match_actions)
    add("/access-capabilities/aws/actions/{action}", handlers.action)
    add("/policy/aws/permission-boundary/deny-iam-admin", handlers.permission_boundary)
    add("/policy/permission-boundary/deny-iam-admin", handlers.permission_boundary_legacy)
    add("/policy/aws/identity/deny-iam-admin", handlers.identity_policy)
    add("/healthz", handlers.healthz)
    add("/readyz", handlers.readyz)
    add("/openapi.json", handlers.openapi, name=NAME_SWAGGER_SPEC)
    add("/metrics", handlers.metrics)


def create_app(index: CapabilityIndex, config: Config | None = None, metrics: Metrics | None = None) -> web.Application:
    config = config or Config()
    app = web.Application(
        middlewares=[make_edge_middleware(static_headers(index.catalog_version)), validation],
        handler_args={"max_line_size": MAX_LINE_SIZE, "max_field_size": MAX_FIELD_SIZE, "max_headers": MAX_HEADERS},
        client_max_size=1024,
    )
    app[INDEX] = index
    app[CONFIG] = config
    app[LIFECYCLE] = Lifecycle()
    app[METRICS] = metrics if metrics is not None else Metrics(index)
    _routes(app)
    contract = setup_openapi(app)
    documents = build_documents(index)
    app[DOCUMENTS] = replace(documents, openapi=Document.of_json(contract, pretty=True))
    SwaggerUIManager(url="/openapi.json", static_path="/docs/static").setup(app, "/docs")

    async def mark_ready(app: web.Application) -> None:
        app[LIFECYCLE].ready = True

    app.on_startup.append(mark_ready)
    return app


def contract_of(app: web.Application) -> bytes:
    return app[DOCUMENTS].openapi.body
