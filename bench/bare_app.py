"""The ceiling for `bench/bench.py`: a bare aiohttp app serving the same bytes as iamcap.

No middleware, no access log, no validation, no OpenAPI: one handler per comparable endpoint returning
prebuilt bytes. `bench.py` fetches the documents from the running iamcap server and writes them to a
folder; this script serves them. It imports nothing from `service`, so it measures aiohttp alone.

    python bench/bare_app.py --port 8081 --docs DIR [--uvloop]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aiohttp import web

JSON = "application/json"


def fixed(body: bytes):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=JSON)

    return handler


def document(plain: bytes, packed: bytes, etag: str):
    """The least a document endpoint can do: 304 on an exact If-None-Match, gzip bytes when accepted."""

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=packed, content_type=JSON, headers={"Content-Encoding": "gzip", "ETag": etag})
        return web.Response(body=plain, content_type=JSON, headers={"ETag": etag})

    return handler


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(docs: Path) -> web.Application:
    meta = json.loads((docs / "meta.json").read_text())
    app = web.Application()
    add = app.router.add_get
    add("/policy/aws/permission-boundary/deny-iam-admin", fixed((docs / "permission-boundary.json").read_bytes()))
    add("/policy/aws/identity/deny-iam-admin", fixed((docs / "identity.json").read_bytes()))
    add(
        "/access-capabilities/aws",
        document((docs / "map.json").read_bytes(), (docs / "map.json.gz").read_bytes(), meta["map_etag"]),
    )
    add("/healthz", healthz)
    add("/readyz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (match iamcap's loop)")
    args = parser.parse_args()
    loop = None
    if args.uvloop:
        import uvloop

        loop = uvloop.new_event_loop()
    web.run_app(build_app(args.docs), host=args.host, port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
