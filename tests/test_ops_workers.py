"""IAMCAP_WORKERS=2: gunicorn with aiohttp workers, through a real process. /metrics must count the
requests of both workers, whichever answers the scrape; SIGTERM drains and exits 0."""

from __future__ import annotations

import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.parser import text_string_to_metric_families

from conftest import server_output, start_server, stop_server
from test_ops_shutdown import get, wait_draining, wait_until

BATCH = 24


def access_lines(proc, route: str) -> list[dict]:
    lines = (json.loads(line) for line in server_output(proc).splitlines() if line.startswith("{"))
    return [line for line in lines if line["logger"] == "iamcap.access" and line["route"] == route]


def samples(base: str) -> dict[tuple[str, tuple], float]:
    status, headers, body = get(f"{base}/metrics")
    assert status == 200
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_two_workers_count_every_request_and_stop_on_sigterm(index):
    proc, base = start_server(
        {"IAMCAP_WORKERS": "2", "IAMCAP_DRAIN_SECONDS": "1", "IAMCAP_SHUTDOWN_TIMEOUT": "5", "IAMCAP_LOG_LEVEL": "INFO"}
    )
    try:
        master = json.loads(next(line for line in server_output(proc).splitlines() if '"metrics_dir"' in line))
        metrics_dir = master["metrics_dir"]
        assert os.path.isdir(metrics_dir)

        # Concurrent batches until both workers have answered some: the kernel chooses who accepts.
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _ in range(40):
                statuses = list(pool.map(lambda _: get(f"{base}/healthz")[0], range(BATCH)))
                assert statuses == [200] * BATCH
                sent += BATCH
                wait_until(lambda sent=sent: len(access_lines(proc, "/healthz")) == sent, 10)
                if len({line["pid"] for line in access_lines(proc, "/healthz")}) == 2:
                    break
        served_by = {line["pid"] for line in access_lines(proc, "/healthz")}
        assert len(served_by) == 2, "one worker answered everything; cannot check the sums"
        assert proc.pid not in served_by  # the master does not serve

        labels = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
        found = samples(base)
        assert found[("iamcap_http_requests_total", labels)] == sent
        assert found[("iamcap_http_request_duration_seconds_count", labels)] == sent
        assert found[("iamcap_http_request_duration_seconds_bucket", tuple(sorted((*labels, ("le", "+Inf")))))] == sent
        # Gauges: one value, not one per worker nor their sum.
        assert found[("iamcap_index_actions", ())] == len(index)
        assert found[("iamcap_index_services", ())] == len(index.services)
        info = [key for key in found if key[0] == "iamcap_catalog_info"]
        assert len(info) == 1 and ("catalog_version", index.catalog_version) in info[0][1]

        # The scrape itself is counted too, by whichever worker answered it.
        scrape = (("method", "GET"), ("route", "/metrics"), ("status", "200"))
        assert samples(base)[("iamcap_http_requests_total", scrape)] >= 1

        proc.send_signal(signal.SIGTERM)
        assert wait_draining(base) == {"status": "draining"}
        assert proc.wait(timeout=60) == 0
        assert not os.path.exists(metrics_dir), "the multiprocess metrics directory was left behind"
        assert "Traceback" not in server_output(proc)
    finally:
        stop_server(proc)
