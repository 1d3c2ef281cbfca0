"""/metrics: the Prometheus text format, authenticated; scraped by Debian's real Prometheus."""
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import e2elib
from e2elib import poll


def test_metrics_text_and_auth(daemon, ns):
    r = daemon.api("GET", "/metrics")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    text = r.body.decode()
    for name in ("apiserver_request_total", "apiserver_request_duration_seconds_bucket",
                 "apiserver_longrunning_requests", "apiserver_storage_objects",
                 "torchjob_store_commits_total", "torchjob_store_fsyncs_total",
                 "torchjob_store_commit_duration_seconds_bucket", "torchjob_store_commit_batch_size_bucket",
                 "training_operator_jobs_created_total", "torchjob_processes_live"):
        assert f"# TYPE {name.replace('_bucket', '')}" in text, name
    # anonymous: forbidden as a non-resource URL; a bad token: 401
    r = daemon.api("GET", "/metrics", token=None)
    assert r.status == 403, r
    assert r.json["message"] == 'forbidden: User "system:anonymous" cannot get path "/metrics"', r.json
    assert daemon.api("GET", "/metrics", token="nope").status == 401


def test_request_counter_moves(daemon, ns):
    def post_count():
        text = daemon.api("GET", "/metrics").body.decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith("apiserver_request_total{") and 'verb="POST"' in line and \
                    'resource="pytorchjobs"' in line and 'code="201"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total
    before = post_count()
    daemon.create_job(ns)
    daemon.create_job(ns)
    assert post_count() == before + 2


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="Debian's prometheus is not installed")
def test_prometheus_scrapes(daemon, ns, tmp_path):
    token = daemon.token
    (tmp_path / "token").write_text(token)
    port = e2elib.free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": "torchjobd", "scheme": "https",
            "tls_config": {"ca_file": str(daemon.ca_path)},
            "authorization": {"credentials_file": str(tmp_path / "token")},
            "static_configs": [{"targets": [f"127.0.0.1:{daemon.port}"]}],
        }],
    }))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def query(q):
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    body = json.load(resp)
            except OSError:
                return None
            res = body.get("data", {}).get("result", [])
            return float(res[0]["value"][1]) if res else None

        up = poll(lambda: query('up{job="torchjobd"}') == 1.0, timeout=30, desc="prometheus to scrape torchjobd")
        assert up
        q = 'sum(training_operator_jobs_created_total{job_namespace="%s"})' % ns
        base = poll(lambda: query("sum(apiserver_request_total)"), timeout=30, desc="request series")
        daemon.create_job(ns)
        daemon.create_job(ns)
        poll(lambda: (query(q) or 0) >= 2, timeout=30, desc="job counter to reach 2 in prometheus")
        poll(lambda: (query("sum(apiserver_request_total)") or 0) > base, timeout=30,
             desc="request counter to move in prometheus")
        assert query("torchjob_store_fsyncs_total") >= 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
