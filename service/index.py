"""The immutable in-memory capability index: every catalog action with its capabilities and reasons,
looked up by action (case-insensitively, as IAM matches actions), by service prefix and by capability."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterable, Mapping

from . import __version__
from .capabilities import CAPABILITIES, Capability
from .catalog import Action, Catalog, Service, load_catalog
from .classifier import CLASSIFIER_VERSION, Classification, Classifier
from .patterns import ActionPattern


@dataclass(frozen=True, slots=True)
class IndexedAction:
    action: Action
    service_name: str
    classification: Classification

    @property
    def key(self) -> str:
        return self.action.key


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    prefix: str
    name: str
    action_count: int
    capability_counts: Mapping[Capability, int]


def _sort_key(item: IndexedAction) -> str:
    return item.key.lower()


class CapabilityIndex:
    def __init__(self, catalog: Catalog, classifier: Classifier | None = None) -> None:
        classifier = classifier or Classifier()
        self.catalog_version = catalog.version
        self.catalog_updated_at = catalog.updated_at
        self.classifier_version = CLASSIFIER_VERSION
        self.service_version = __version__
        names = {s.prefix: s.name for s in catalog.services}
        items = sorted(
            (IndexedAction(a, names[a.service], classifier.classify(a)) for a in catalog.actions), key=_sort_key
        )
        self.actions: tuple[IndexedAction, ...] = tuple(items)
        self._by_key = MappingProxyType({item.key.lower(): item for item in items})
        by_service: dict[str, list[IndexedAction]] = {s.prefix: [] for s in catalog.services}
        by_capability: dict[Capability, list[IndexedAction]] = {c: [] for c in CAPABILITIES}
        for item in items:
            by_service[item.action.service].append(item)
            for cap in item.classification.capabilities:
                by_capability[cap].append(item)
        self._by_service = MappingProxyType({p: tuple(v) for p, v in by_service.items()})
        self._by_capability = MappingProxyType({c: tuple(v) for c, v in by_capability.items()})
        self.services: tuple[Service, ...] = tuple(sorted(catalog.services, key=lambda s: s.prefix))
        self._services_by_prefix = MappingProxyType({s.prefix.lower(): s for s in catalog.services})

    @classmethod
    def load(cls) -> "CapabilityIndex":
        return cls(load_catalog())

    def __len__(self) -> int:
        return len(self.actions)

    def lookup(self, action: str) -> IndexedAction | None:
        return self._by_key.get(action.lower())

    def service(self, prefix: str) -> Service | None:
        return self._services_by_prefix.get(prefix.lower())

    def service_actions(self, prefix: str) -> tuple[IndexedAction, ...]:
        service = self.service(prefix)
        return self._by_service[service.prefix] if service else ()

    def with_capability(self, capability: Capability) -> tuple[IndexedAction, ...]:
        return self._by_capability[capability]

    def match(self, patterns: Iterable[ActionPattern]) -> tuple[IndexedAction, ...]:
        """Every action any pattern matches, sorted case-insensitively, each once."""
        found: dict[str, IndexedAction] = {}
        for pattern in patterns:
            candidates = self.service_actions(pattern.service) if pattern.service else self.actions
            for item in candidates:
                key = item.key.lower()
                if key not in found and pattern.matches(key):
                    found[key] = item
        return tuple(sorted(found.values(), key=_sort_key))

    def capability_map(
        self, prefixes: Iterable[str] | None = None, capabilities: Iterable[Capability] | None = None
    ) -> dict[str, dict[str, list[str]]]:
        """`{service name: {capability: [actions]}}`; services ordered by name, capabilities in their
        canonical order, actions sorted case-insensitively. Capabilities a service lacks are left out;
        services with nothing left are left out unless asked for by prefix."""
        wanted = tuple(capabilities) if capabilities else CAPABILITIES
        if prefixes is None:
            services, keep_empty = self.services, False
        else:
            services = tuple(dict.fromkeys(s for p in prefixes if (s := self.service(p)) is not None))
            keep_empty = True
        out: dict[str, dict[str, list[str]]] = {}
        for service in sorted(services, key=lambda s: s.name.lower()):
            entry: dict[str, list[str]] = {}
            for cap in wanted:
                keys = [i.key for i in self._by_service[service.prefix] if cap in i.classification.capabilities]
                if keys:
                    entry[cap.value] = keys
            if entry or keep_empty:
                out[service.name] = entry
        return out

    def service_summaries(self) -> tuple[ServiceSummary, ...]:
        summaries = []
        for service in self.services:
            items = self._by_service[service.prefix]
            counts = {c: sum(1 for i in items if c in i.classification.capabilities) for c in CAPABILITIES}
            summaries.append(ServiceSummary(service.prefix, service.name, len(items), MappingProxyType(counts)))
        return tuple(summaries)
