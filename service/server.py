"""Running the server: JSON logs, the index, then one process or several, each draining on SIGTERM.

One process (IAMCAP_WORKERS=1): aiohttp's AppRunner and TCPSite with our own signal handlers, since
`web.run_app` has no drain period. On SIGTERM:

1. /readyz answers 503 "draining" at once, while the listener keeps accepting and answering, for
   IAMCAP_DRAIN_SECONDS: time for the load balancer to see it and stop sending new connections;
2. then the listener closes, idle keep-alive connections are closed, and requests in flight get up to
   IAMCAP_SHUTDOWN_TIMEOUT to finish;
3. the process exits 0.

SIGINT (Ctrl-C), or a second SIGTERM, ends the drain period at once; in-flight requests still finish.

Several (IAMCAP_WORKERS>1): gunicorn forks the workers (aiohttp's GunicornWebWorker, with the same
drain on SIGTERM). The index and every prebuilt document are built once in the master before the fork,
so the workers share those pages; prometheus-client runs in multiprocess mode in a temporary directory
the master creates and removes. SIGTERM to the master: it signals the workers, which drain as above;
it waits up to drain + shutdown + 5 s for them, then exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import shutil
import signal
import tempfile
from dataclasses import fields

from aiohttp import web
from aiohttp.worker import GunicornWebWorker
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from .catalog import CatalogError
from .config import Config
from .web.keys import INDEX, LIFECYCLE
from .web.logs import JsonAccessLogger, JsonFormatter, access_logger, configure_logging

log = logging.getLogger("iamcap")

EXIT_OK = 0
EXIT_CATALOG = 3  # the AWS action catalog could not be loaded
EXIT_LISTEN = 4  # the address could not be bound
# Idle keep-alive connections are closed after this: longer than load balancers' usual idle timeout
# (60 s), so the balancer closes first and never sends on a connection the server is closing.
KEEPALIVE_SECONDS = 75.0


def serve(config: Config) -> int:
    configure_logging(config.log_level, config.access_log)
    _warn_unknown_variables()
    if config.workers > 1:
        return _serve_workers(config)
    from .web.metrics import disable_multiprocess

    disable_multiprocess()  # one process: a stray PROMETHEUS_MULTIPROC_DIR must not leave files behind
    app = _build_app(config)
    if app is None:
        return EXIT_CATALOG
    return asyncio.run(_serve_one(app, config))


def _warn_unknown_variables() -> None:
    known = {f"IAMCAP_{f.name.upper()}" for f in fields(Config)}
    for name in sorted(os.environ):
        if name.startswith("IAMCAP_") and name not in known:
            log.warning("ignoring unknown variable %s (a typo?)", name, extra={"variable": name})


def _build_app(config: Config) -> web.Application | None:
    try:
        from .index import CapabilityIndex

        index = CapabilityIndex.load()
    except CatalogError as exc:
        log.critical("cannot load the AWS action catalog: %s", exc)
        return None
    from .web.app import create_app

    return create_app(index, config)


def make_runner(app: web.Application, config: Config) -> web.AppRunner:
    return web.AppRunner(
        app,
        handle_signals=False,  # ours: see _Signals
        access_log_class=JsonAccessLogger,
        access_log=access_logger() if config.access_log else None,
        shutdown_timeout=config.shutdown_timeout,
        keepalive_timeout=KEEPALIVE_SECONDS,
    )


class _Signals:
    """The first SIGTERM starts the shutdown; SIGINT, or another SIGTERM, cuts the drain short."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stop = asyncio.Event()
        self.hurry = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._received, sig)

    def _received(self, sig: int) -> None:
        log.info("received %s", signal.Signals(sig).name)
        if sig == signal.SIGINT or self.stop.is_set():
            self.hurry.set()
        self.stop.set()


async def drain(app: web.Application, seconds: float, hurry: asyncio.Event) -> None:
    """Readiness turns 503 now; the listener stays open `seconds` (less if `hurry` is set)."""
    app[LIFECYCLE].draining = True
    log.info("draining: /readyz answers 503, still accepting for %.1f s", seconds, extra={"drain_seconds": seconds})
    if seconds > 0 and not hurry.is_set():
        try:
            await asyncio.wait_for(hurry.wait(), seconds)
        except TimeoutError:
            pass


async def _serve_one(app: web.Application, config: Config) -> int:
    runner = make_runner(app, config)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
    except OSError as exc:
        log.critical("cannot listen on %s port %d: %s", config.host, config.port, exc)
        await runner.cleanup()
        return EXIT_LISTEN
    signals = _Signals(asyncio.get_running_loop())
    index = app[INDEX]
    log.info(
        "serving %d actions from catalog %s on %s",
        len(index),
        index.catalog_version,
        site.name,
        extra={"catalog_version": index.catalog_version, "workers": 1},
    )
    await signals.stop.wait()
    await drain(app, config.drain_seconds, signals.hurry)
    log.info("closing the listener; in-flight requests get up to %.1f s", config.shutdown_timeout)
    await runner.cleanup()
    log.info("stopped")
    return EXIT_OK


# --- several workers: gunicorn -------------------------------------------------------------------------
def _serve_workers(config: Config) -> int:
    from .web.metrics import enable_multiprocess

    master = os.getpid()
    metrics_dir = tempfile.mkdtemp(prefix="iamcap-metrics-")
    try:
        enable_multiprocess(metrics_dir)
        app = _build_app(config)
        if app is None:
            return EXIT_CATALOG
        # What is built so far lives as long as the process: keep the collector off it, so the workers'
        # copy-on-write pages are not dirtied by reference scans.
        gc.collect()
        gc.freeze()
        log.info(
            "serving %d actions with %d workers",
            len(app[INDEX]),
            config.workers,
            extra={"workers": config.workers, "metrics_dir": metrics_dir},
        )
        _Gunicorn(app, config).run()  # sys.exit(0) once stopped
        return EXIT_OK
    finally:
        if os.getpid() == master:  # workers leave through here too (SystemExit after fork)
            shutil.rmtree(metrics_dir, ignore_errors=True)


class _JsonGunicornLogger(GunicornLogger):
    """gunicorn's own lines (master, worker boot and exit) as JSON too."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter)


class DrainingWorker(GunicornWebWorker):
    """aiohttp's gunicorn worker, draining on SIGTERM like the single process does."""

    _drain_task: asyncio.Task | None = None

    def init_signals(self) -> None:
        super().init_signals()
        self._hurry = asyncio.Event()
        self.loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)  # replaces the immediate stop

    def _on_sigterm(self) -> None:
        if self._drain_task is None:
            self._drain_task = self.loop.create_task(self._drain_then_stop())
        else:
            self._hurry.set()

    async def _drain_then_stop(self) -> None:
        # The worker's loop keeps notifying the master meanwhile, so it is not taken for hung.
        await drain(self.app.web_app, self.app.config.drain_seconds, self._hurry)
        self.alive = False  # the loop in GunicornWebWorker._run ends, then runner.cleanup()
        self._notify_waiter_done()


class _Gunicorn(BaseApplication):
    def __init__(self, web_app: web.Application, config: Config) -> None:
        self.web_app = web_app
        self.config = config
        super().__init__()

    def load_config(self) -> None:
        config = self.config
        host = f"[{config.host}]" if ":" in config.host else config.host
        settings = {
            "bind": [f"{host}:{config.port}"],
            "workers": config.workers,
            "worker_class": DrainingWorker,
            "preload_app": True,
            "graceful_timeout": math.ceil(config.drain_seconds + config.shutdown_timeout) + 5,
            "control_socket_disable": True,  # gunicorn 27 opens one by default; nothing here uses it
            "accesslog": None,  # ours, in the workers
            "errorlog": "-",
            "loglevel": config.log_level.lower(),
            "logger_class": _JsonGunicornLogger,
            "proc_name": "iamcap",
        }
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self):
        app, config = self.web_app, self.config

        async def runner() -> web.AppRunner:  # GunicornWebWorker sets it up on the worker's sockets
            return make_runner(app, config)

        return runner
