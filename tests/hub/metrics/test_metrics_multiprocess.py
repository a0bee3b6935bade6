"""Counters under gunicorn with two workers and a separate `cxhub worker`, sharing one PROMETHEUS_MULTIPROC_DIR:
every scrape, whichever gunicorn worker answers it, reports what all three processes did."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson

from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC, detractor, forward_everything, run
from tests.hub.metrics.test_metrics import AUTH, TOKEN, samples, value

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:  # refused, or a worker still importing the app: gunicorn listens before that
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within 60 s")


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=60) as answer:  # a new connection each: gunicorn spreads them
        return answer.status


def test_gunicorn_workers_and_a_delivery_worker_report_together(tmp_path, httpserver, cxhub_redis_url,
                                                                 cxhub_database_url):
    httpserver.expect_request("/receiver", method="POST").respond_with_data("")
    config = tmp_path / "cxhub.yaml"
    config.write_text(forward_everything(httpserver.url_for("/receiver")), encoding="utf-8")
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "CXHUB_CONFIG": str(config), "CXHUB_DATA_DIR": str(tmp_path / "data"),
           "REDIS_URL": cxhub_redis_url, "DATABASE_URL": cxhub_database_url, "APP_SECRET": WHSEC,
           "CXHUB_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    port = free_port()
    web = subprocess.Popen([BIN / "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", web)
        for number in range(6):
            body = orjson.dumps(detractor(number))
            assert post(f"{base}/hooks/app", body, sign_standard_webhook(WHSEC, f"msg_{number}", body)) == 202
        run([BIN / "cxhub", "worker", "--burst"], env=env, cwd=ROOT, timeout=120)
        assert len(httpserver.log) == 6
        for _ in range(6):  # each scrape lands on either gunicorn worker
            with urllib.request.urlopen(urllib.request.Request(f"{base}/metrics", headers=AUTH), timeout=60) as answer:
                scraped = samples(answer.read().decode())
            assert value(scraped, "cxhub_webhook_requests_total", source="app", status="202") == 6
            assert value(scraped, "cxhub_events_total", source="app", outcome="accepted") == 6
            assert value(scraped, "cxhub_delivery_attempts_total", connection="out", outcome="succeeded") == 6
            assert value(scraped, "cxhub_delivery_attempt_duration_seconds_count", connection="out") == 6
            assert value(scraped, "cxhub_queue_depth", connection="out") == 0
        assert len(list(shared.glob("counter_*.db"))) >= 2  # files of more than one process were summed
    finally:
        web.terminate()
        web.wait(timeout=30)


def test_a_worker_on_a_machine_of_its_own_serves_its_counters(tmp_path, httpserver, make_hub, cxhub_redis_url,
                                                              cxhub_database_url):
    """`cxhub worker --metrics-port`: no web process beside it, no shared directory; its own /metrics."""
    import plugins.webhook as webhook
    from tests.conftest import send

    httpserver.expect_request("/receiver", method="POST").respond_with_data("")
    text = forward_everything(httpserver.url_for("/receiver"))
    web = make_hub(text, plugins=[webhook], env={"APP_SECRET": WHSEC})
    config = tmp_path / "cxhub.yaml"
    config.write_text(text, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"CXHUB_CONFIG": str(config), "CXHUB_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": cxhub_redis_url,
                "DATABASE_URL": cxhub_database_url, "APP_SECRET": WHSEC})
    refused = subprocess.run([BIN / "cxhub", "worker", "--metrics-port", "9"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "needs CXHUB_METRICS_TOKEN" in refused.stderr
    port = free_port()
    worker = subprocess.Popen([BIN / "cxhub", "worker", "--metrics-port", str(port)],
                              env={**env, "CXHUB_METRICS_TOKEN": TOKEN}, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
            except urllib.error.HTTPError as error:
                assert error.code == 401  # up, and the token is required
                break
            except OSError:  # not listening yet
                assert process_alive(worker) and time.monotonic() < deadline
                time.sleep(0.1)
        assert send(web, detractor(1)).status_code == 202
        deadline = time.monotonic() + 60
        while len(httpserver.log) < 1:
            assert process_alive(worker) and time.monotonic() < deadline
            time.sleep(0.1)
        for _ in range(50):  # the attempt is counted once it is stored, just after the request went out
            with urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=60) as answer:
                scraped = samples(answer.read().decode())
            if value(scraped, "cxhub_delivery_attempts_total", connection="out", outcome="succeeded") == 1:
                break
            time.sleep(0.1)
        assert value(scraped, "cxhub_delivery_attempts_total", connection="out", outcome="succeeded") == 1
        assert not any(name == "cxhub_queue_depth" for name, _ in scraped)  # shared state: the web side's alone
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def process_alive(process: subprocess.Popen) -> bool:
    if process.poll() is None:
        return True
    raise AssertionError(process.communicate()[1])
