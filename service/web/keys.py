"""Typed keys for application and request state (aiohttp 3.14)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..config import Config
from ..documents import Document
from ..index import CapabilityIndex
from .problems import Problem

@dataclass
class Lifecycle:
    """The one piece of mutable state: whether the process is ready or draining."""

    ready: bool = False
    draining: bool = False


@dataclass(frozen=True)
class Documents:
    """Everything that does not change while the process runs, as bytes, built at startup."""

    about: Document
    capability_map: Document
    services: Document
    permission_boundary: Document | Problem  # a Problem: refused at startup for breaking AWS's size limit
    identity_policy: Document | Problem
    openapi: Document | None = None


INDEX = web.AppKey("index", CapabilityIndex)
CONFIG = web.AppKey("config", Config)
DOCUMENTS = web.AppKey("documents", Documents)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
METRICS = web.AppKey("metrics", object)
REQUEST_ID = web.RequestKey("request_id", str)
