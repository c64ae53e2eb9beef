"""Prometheus metrics: requests and latency by method, route template and status; the index's size;
the catalog version as a label of an info gauge.

The edge middleware calls `observe` once per request, so it is kept to a dict lookup and two
increments. With several worker processes (gunicorn), prometheus-client's multiprocess mode is on
when PROMETHEUS_MULTIPROC_DIR is set before the metrics are created (`enable_multiprocess`): each
worker writes its own mmap files and /metrics, whichever worker answers, sums them.
"""

from __future__ import annotations

import os

import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from ..index import CapabilityIndex

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # text/plain; version=0.0.4; charset=utf-8
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LABELS = ("method", "route", "status")
# Most answers are prebuilt bytes (well under a millisecond); the tail is pattern expansion.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Any other method a caller invents is counted as OTHER: label values stay bounded.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})

# `_created` series double the series count and mean nothing to a scraper of this service.
prometheus_client.disable_created_metrics()


def enable_multiprocess(directory: str) -> None:
    """Switch prometheus-client to its multiprocess mode, writing to `directory` (which must exist and
    be empty). Call before any Metrics is created and before the workers fork."""
    os.environ[MULTIPROC_ENV] = directory
    values.ValueClass = values.get_value_class()  # chosen at import time otherwise


def disable_multiprocess() -> None:
    """One process: metrics in memory, whatever the environment says."""
    if os.environ.pop(MULTIPROC_ENV, None) is not None:
        values.ValueClass = values.get_value_class()


class Metrics:
    def __init__(self, index: CapabilityIndex | None = None) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        registry = CollectorRegistry()
        self.requests = Counter(
            "iamcap_http_requests", "HTTP requests answered, by method, route template and status.", LABELS,
            registry=registry,
        )
        self.latency = Histogram(
            "iamcap_http_request_duration_seconds",
            "Time from the request reaching the application to its response being ready, in seconds.",
            LABELS,
            buckets=BUCKETS,
            registry=registry,
        )
        # Every worker holds the same index: the max across processes is the value.
        self.actions = Gauge(
            "iamcap_index_actions", "AWS actions in the capability index.", registry=registry, multiprocess_mode="max"
        )
        self.services = Gauge(
            "iamcap_index_services", "AWS services in the capability index.", registry=registry, multiprocess_mode="max"
        )
        self.catalog = Gauge(
            "iamcap_catalog_info",
            "Versions of the AWS action catalog, the classifier and the service; the value is always 1.",
            ("catalog_version", "classifier_version", "service_version"),
            registry=registry,
            multiprocess_mode="max",
        )
        if self.multiprocess:
            # One worker answers /metrics for all: read every worker's files.
            self.registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.registry)
        else:
            ProcessCollector(registry=registry)  # process_resident_memory_bytes and friends
            PlatformCollector(registry=registry)
            self.registry = registry
        self._children: dict[tuple[str, str, int], tuple] = {}
        if index is not None:
            self.set_index(index)

    def set_index(self, index: CapabilityIndex) -> None:
        self.actions.set(len(index))
        self.services.set(len(index.services))
        self.catalog.labels(index.catalog_version, index.classifier_version, index.service_version).set(1)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = "OTHER"
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            labels = (method, route, str(status))
            children = self._children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
