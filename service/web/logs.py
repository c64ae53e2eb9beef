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
import os
import sys
import time
from json.encoder import encode_basestring_ascii
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
        fields = {
            "method": method,
            "route": route,
            "path": request.path,
            "status": status,
            "bytes": response.body_length,
            "duration_ms": round(time * 1000, 3),
            "request_id": request.get(REQUEST_ID),
            "remote": request.remote,
            "user_agent": headers.get("User-Agent"),
        }
        if _write_directly(self.logger, fields):
            return
        self.logger.info("%s %s %d", method, route, status, extra=fields)


# The access line without `logging`'s machinery (a LogRecord, handler lookups, a generic formatter), which
# made the line cost about as much CPU as answering the request (docs/benchmarks.md). Only while the
# setup is configure_logging()'s own, untouched (one JSON handler on the root, nothing on the way, the
# standard record factory), so the bytes written are exactly what `logging` would write; any other
# setup (a test's capture handler, say) takes the `logging` path.
_handler: logging.StreamHandler | None = None
_pid = os.getpid()


def _write_directly(logger: logging.Logger, fields: dict) -> bool:
    handler = _handler
    if handler is None or handler.filters or handler.level > logging.INFO or not logger.isEnabledFor(logging.INFO):
        return False
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return False
    node = logger
    while node is not None:
        if node.filters or (node.handlers and node.handlers != [handler]) or (node.parent is not None and not node.propagate):
            return False
        if node.handlers:
            break
        node = node.parent
    if node is not logging.root:
        return False
    formatter = handler.formatter
    if type(formatter) is not JsonFormatter:
        return False
    line = _access_line(formatter._time(time.time()), fields) + handler.terminator
    try:
        handler.acquire()
        try:
            stream = handler.stream
            stream.write(line)
            stream.flush()
        finally:
            handler.release()
    except Exception:  # a closed or broken stream: let `logging` report it as for any line
        return False
    return True


def _string(value) -> str:
    if type(value) is str:
        return encode_basestring_ascii(value)
    return "null" if value is None else _encode(value)


def _number(value) -> str:
    kind = type(value)
    if kind is int or (kind is float and value - value == 0):  # finite: json writes float.__repr__
        return kind.__repr__(value)
    return _encode(value)


def _access_line(now: str, f: dict) -> str:
    """What JsonFormatter writes for the access record."""
    message = encode_basestring_ascii("%s %s %d" % (f["method"], f["route"], f["status"]))
    return (
        f'{{"time":"{now}","level":"INFO","logger":"{ACCESS_LOGGER}","pid":{_pid},"message":{message},'
        f'"method":{_string(f["method"])},"route":{_string(f["route"])},"path":{_string(f["path"])},'
        f'"status":{_number(f["status"])},"bytes":{_number(f["bytes"])},"duration_ms":{_number(f["duration_ms"])},'
        f'"request_id":{_string(f["request_id"])},"remote":{_string(f["remote"])},'
        f'"user_agent":{_string(f["user_agent"])}}}'
    )


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


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
    global _handler
    _handler = handler
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.CRITICAL + 1)
    logging.captureWarnings(True)
    return handler


def access_logger() -> logging.Logger:
    return logging.getLogger(ACCESS_LOGGER)


# Last, as a module reference: the middleware imports `current_request_id` from here.
from . import middleware  # noqa: E402
