"""Response documents as bytes, built once: body, gzip body, strong ETag. No HTTP framework here."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass

JSON = "application/json"
# Below this size gzip costs more than it saves.
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Document:
    body: bytes
    etag: str  # strong, quoted: "…"
    content_type: str = JSON
    gzip_body: bytes | None = None

    @classmethod
    def of_bytes(cls, body: bytes, content_type: str = JSON) -> "Document":
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        packed = None
        if len(body) >= GZIP_MIN_BYTES:
            # mtime=0: the same body always gives the same compressed bytes.
            packed = gzip.compress(body, compresslevel=6, mtime=0)
        return cls(body=body, etag=f'"{digest}"', content_type=content_type, gzip_body=packed)

    @classmethod
    def of_json(cls, value, *, pretty: bool = False) -> "Document":
        return cls.of_bytes(dump_json(value, pretty=pretty))


def dump_json(value, *, pretty: bool = False) -> bytes:
    if pretty:
        return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
