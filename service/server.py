"""Running the server: logging, the index, then aiohttp's runner."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from .catalog import CatalogError
from .config import Config


def serve(config: Config) -> int:
    logging.basicConfig(level=config.log_level, stream=sys.stderr)
    log = logging.getLogger("iamcap")
    try:
        from .index import CapabilityIndex

        index = CapabilityIndex.load()
    except CatalogError as exc:
        log.critical("cannot load the AWS action catalog: %s", exc)
        return 3
    from .web.app import create_app

    app = create_app(index, config)
    log.info("serving %d actions from catalog %s on http://%s:%d", len(index), index.catalog_version, config.host, config.port)
    web.run_app(app, host=config.host, port=config.port, print=None, shutdown_timeout=config.shutdown_timeout)
    return 0
