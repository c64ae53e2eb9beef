"""Structured logs: one JSON object per line, for the application and for the access log.

Every line carries `time`, `level`, `logger`, `pid` and `message`, plus any `extra=` fields. A line
logged while a request is handled carries that request's `request_id` (the edge middleware sets it
in a context variable), so application errors and access lines can be joined.

The access logger sits on the hot path: it reads what the request already holds and hands a flat
dict to the one JSON formatter; no regex, no format-string parsing.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from .keys import REQUEST_ID

ACCESS_LOGGER = "iamcap.access"

# The id of the request being handled in this task; set by the edge middleware.
current_request_id: ContextVar[str | None] = ContextVar("iamcap_request_id", default=None)

# One encoder, built once: json.dumps() with options builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode  # ASCII: \u-escapes, safe anywhere

# Attributes every LogRecord has: anything else on a record came from `extra=` and is written out.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """`{"time": "2026-01-02T03:04:05.678Z", "level": "INFO", "logger": ..., "pid": ..., "message": ...,
    <extra fields>, "request_id": ..., "exception": "Traceback ..."}` on one line."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # strftime once per second, not once per line
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                line[key] = value
        if "request_id" not in line:
            request_id = current_request_id.get()
            if request_id is not None:
                line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return _encode(line)


class JsonAccessLogger(AbstractAccessLogger):
    """aiohttp `access_log_class`: one INFO record per request on the `iamcap.access` logger."""

    __slots__ = ()

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        try:
            route = middleware.route_template(request)  # type: ignore[arg-type]
        except AttributeError:  # refused by the HTTP parser: never routed
            route = "unmatched"
        method = request.method
        status = response.status
        headers = request.headers
        self.logger.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "path": request.path,
                "status": status,
                "bytes": response.body_length,
                "duration_ms": round(time * 1000, 3),
                "request_id": request.get(REQUEST_ID),
                "remote": request.remote,
                "user_agent": headers.get("User-Agent"),
            },
        )


def configure_logging(level: str = "INFO", access_log: bool = True, stream=None) -> logging.Handler:
    """JSON lines on stderr for every logger. `level` applies to application logs; access lines are
    INFO records of their own logger, on whenever `access_log` is true."""
    # Nothing here prints file, line, thread or process name: skip finding them for every record.
    logging._srcfile = None  # the documented switch (logging HOWTO, "Optimization")
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.CRITICAL + 1)
    logging.captureWarnings(True)
    return handler


def access_logger() -> logging.Logger:
    return logging.getLogger(ACCESS_LOGGER)


# Last, as a module reference: the middleware imports `current_request_id` from here.
from . import middleware  # noqa: E402
