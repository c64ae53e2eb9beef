"""GET /metrics through the real app: Prometheus text, counts by method / route template / status,
the index gauges and the catalog info; documented in the contract as text/plain."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
ACTION_ROUTE = "/access-capabilities/aws/actions/{action}"


async def scrape(client) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    found = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def labels(method: str, route: str, status: int) -> tuple:
    return (("method", method), ("route", route), ("status", str(status)))


async def test_metrics_is_prometheus_text_and_never_cached(client):
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Request-ID"]
    text = await response.text()
    assert "# TYPE iamcap_http_requests_total counter" in text
    assert "# TYPE iamcap_http_request_duration_seconds histogram" in text


async def test_requests_are_counted_by_route_template_never_by_raw_path(client):
    for _ in range(3):
        assert (await client.get("/access-capabilities/aws/actions/iam:PassRole")).status == 200
    assert (await client.get("/access-capabilities/aws/actions/iam:NoSuchActionEver")).status == 404
    assert (await client.get("/no/such/path")).status == 404
    assert (await client.head("/healthz")).status == 200
    found = await scrape(client)
    assert found[("iamcap_http_requests_total", labels("GET", ACTION_ROUTE, 200))] == 3
    assert found[("iamcap_http_requests_total", labels("GET", ACTION_ROUTE, 404))] == 1
    assert found[("iamcap_http_requests_total", labels("GET", "unmatched", 404))] == 1
    assert found[("iamcap_http_requests_total", labels("HEAD", "/healthz", 200))] == 1
    routes = {dict(key[1]).get("route") for key in found if key[0] == "iamcap_http_requests_total"}
    assert not any("PassRole" in route or "no/such" in route for route in routes)


async def test_histogram_counts_match_and_buckets_are_cumulative(client):
    for _ in range(5):
        assert (await client.get("/")).status == 200
    found = await scrape(client)
    key = labels("GET", "/", 200)
    assert found[("iamcap_http_request_duration_seconds_count", key)] == 5
    assert found[("iamcap_http_request_duration_seconds_sum", key)] > 0
    buckets = sorted(
        (float(dict(labels_)["le"]), value)
        for (name, labels_), value in found.items()
        if name == "iamcap_http_request_duration_seconds_bucket" and dict(labels_)["route"] == "/"
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts) and counts[-1] == 5 and buckets[-1][0] == float("inf")


async def test_invented_methods_share_one_label_value(client):
    for method in ("PROPFIND", "MKCOL", "LOCK"):  # WebDAV: the HTTP parser knows them, we do not
        response = await client.request(method, "/healthz")
        assert response.status == 405
    found = await scrape(client)
    methods = {dict(key[1])["method"] for key in found if key[0] == "iamcap_http_requests_total"}
    assert "OTHER" in methods and not methods & {"PROPFIND", "MKCOL", "LOCK"}
    other = sum(v for (name, key), v in found.items() if name == "iamcap_http_requests_total" and ("method", "OTHER") in key)
    assert other == 3


async def test_index_gauges_and_catalog_info(client, index):
    found = await scrape(client)
    assert found[("iamcap_index_actions", ())] == len(index)
    assert found[("iamcap_index_services", ())] == len(index.services)
    info = {key: value for key, value in found.items() if key[0] == "iamcap_catalog_info"}
    assert list(info.values()) == [1.0]
    (name, info_labels), = info
    assert dict(info_labels)["catalog_version"] == index.catalog_version
    assert dict(info_labels)["classifier_version"] == index.classifier_version


async def test_the_contract_documents_metrics_as_prometheus_text(client):
    served = json.loads(await (await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})).read())
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    for contract in (served, committed):
        operation = contract["paths"]["/metrics"]["get"]
        assert operation["operationId"] == "getMetrics"
        assert operation["tags"] == ["service"]
        assert list(operation["responses"]["200"]["content"]) == ["text/plain; version=0.0.4"]
