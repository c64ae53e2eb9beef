"""Serving prebuilt documents: strong ETag, 304 on If-None-Match, gzip bytes when accepted."""

from __future__ import annotations

import cachetools
from aiohttp import web

from ..documents import Document
from .keys import CONFIG


def cache_documents(max_bytes: int):
    """Memoize a function returning a `Document`, least recently used first out, bounded by the bytes held
    (body and gzip body), not by the entry count: one `?pattern=*` answer is 11 MB, and a few hundred
    distinct match-everything patterns under an entry bound would hold gigabytes. A document larger than
    the whole bound is returned, not kept."""
    return cachetools.cached(cachetools.LRUCache(maxsize=max_bytes, getsizeof=_document_bytes))


def _document_bytes(document: Document) -> int:
    return len(document.body) + len(document.gzip_body or b"")


def accepts_gzip(header: str) -> bool:
    """True when Accept-Encoding allows gzip (q-values honoured: `gzip;q=0` refuses it)."""
    if not header:
        return False
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        params = params.replace(" ", "").lower()
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as RFC 9110 asks for If-None-Match: `W/"x"` matches `"x"`."""
    if if_none_match.strip() == "*":
        return True
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def serve(request: web.Request, document: Document, *, status: int = 200, headers: dict | None = None) -> web.Response:
    response_headers = {
        "ETag": document.etag,
        "Cache-Control": f"public, max-age={request.app[CONFIG].cache_max_age}",
    }
    if headers:
        response_headers.update(headers)
    if document.gzip_body is not None:
        response_headers["Vary"] = "Accept-Encoding"
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and _matches(if_none_match, document.etag):
        return web.Response(status=304, headers=response_headers)
    body = document.body
    if document.gzip_body is not None and accepts_gzip(request.headers.get("Accept-Encoding", "")):
        body = document.gzip_body
        response_headers["Content-Encoding"] = "gzip"
    response_headers["Content-Type"] = document.content_type
    return web.Response(status=status, body=body, headers=response_headers)
