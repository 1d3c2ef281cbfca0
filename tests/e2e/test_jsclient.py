"""@kubernetes/client-node 1.4.0 on node 20 against the daemon (client-compat.md §11): Exec, create,
list, a Watch on the collection (from the list's resourceVersion and without one), merge patch
through setHeaderOptions, the default JSON patch, delete, and a 404 error.

The package is installed with npm into tests/e2e/js/node_modules (git-ignored) the first time and
reused afterwards; without a registry the test is skipped."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from e2elib import job, poll, uniq

JS = Path(__file__).resolve().parent / "js"
PKG = "@kubernetes/client-node"
PKG_VERSION = "1.4.0"
NODE = "/usr/bin/node"


@pytest.fixture(scope="module")
def js_client():
    if not os.access(NODE, os.X_OK):
        pytest.skip(f"{NODE} not found")
    npm = shutil.which("npm")
    installed = JS / "node_modules" / PKG / "package.json"

    def have():
        try:
            return json.loads(installed.read_text()).get("version") == PKG_VERSION
        except (OSError, ValueError):
            return False
    if not have():
        if npm is None:
            pytest.skip("npm is not installed")
        try:
            p = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock",
                                f"{PKG}@{PKG_VERSION}", "--no-save"],
                               cwd=JS, capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.skip(f"npm install {PKG}@{PKG_VERSION} timed out (no registry?)")
        if p.returncode != 0 or not have():
            pytest.skip(f"npm install {PKG}@{PKG_VERSION} failed (rc {p.returncode}): "
                        f"{(p.stderr or p.stdout).strip()[-500:]}")
    return JS / "watch_client.mjs"


def test_js_client_crud_and_watch(daemon, js_client):
    ns = daemon.create_ns(uniq("js"))
    pre = daemon.create_job(ns, "pre")
    env = dict(os.environ, KUBECONFIG=str(daemon.kubeconfig))
    p = subprocess.run([NODE, str(js_client), ns, json.dumps(job("x"))], cwd=JS, env=env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"node rc {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}") from None
    assert p.returncode == 0 and "fatal" not in out, (f"node rc {p.returncode}: {json.dumps(out, indent=1)}"
                                                       f"\nstderr: {p.stderr}")
    assert out["list0"]["kind"] == "PyTorchJobList" and out["list0"]["names"] == ["pre"], out["list0"]
    c = out["created"]
    assert c["name"] == "js-a" and c["rv"] and c["uid"], c
    assert out["list1"]["names"] == ["js-a", "pre"], out["list1"]
    assert int(out["list1"]["rv"]) >= int(c["rv"]), out["list1"]
    assert out["merged"]["labels"] == {"js": "merged"}, out["merged"]
    assert int(out["merged"]["rv"]) > int(c["rv"]), out["merged"]
    assert out["jsonPatched"]["annotations"] == {"js": "json-patch"}, out["jsonPatched"]
    assert int(out["jsonPatched"]["rv"]) > int(out["merged"]["rv"]), out["jsonPatched"]
    assert out["deleted"] == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                              "details": {"name": "js-a", "group": "kubeflow.org", "kind": "pytorchjobs",
                                          "uid": c["uid"]}}, out["deleted"]
    miss = out["getMissing"]
    assert miss["code"] == 404, miss
    body = miss["body"]
    assert isinstance(body, dict) and body.get("reason") == "NotFound", miss
    assert body["message"] == 'pytorchjobs.kubeflow.org "js-a" not found', miss

    live = [("ADDED", "js-a", c["rv"]), ("MODIFIED", "js-a", out["merged"]["rv"]),
            ("MODIFIED", "js-a", out["jsonPatched"]["rv"])]
    ev = [e for e in out["watchFromRv"] if e["type"] != "BOOKMARK"]
    assert [(e["type"], e["name"], e["rv"]) for e in ev[:3]] == live, out["watchFromRv"]
    assert [(e["type"], e["name"]) for e in ev[3:]] == [("DELETED", "js-a")], out["watchFromRv"]
    assert int(ev[3]["rv"]) > int(out["jsonPatched"]["rv"]), ev
    assert all(e["kind"] == "PyTorchJob" for e in ev), ev
    assert ev[1]["labels"] == {"js": "merged"} and ev[3]["labels"] == {"js": "merged"}, ev
    ini = out["watchInitial"]
    assert (ini[0]["type"], ini[0]["name"], ini[0]["rv"]) == ("ADDED", "pre", pre["metadata"]["resourceVersion"]), ini
    assert [(e["type"], e["name"], e["rv"]) for e in ini[1:4]] == live, ini
    assert [(e["type"], e["name"]) for e in ini[4:]] == [("DELETED", "js-a")], ini


def test_js_client_exec(daemon, js_client):
    """Exec (WebSocket, v5.channel.k8s.io first in its list): output by channel, the exit status
    as a V1Status, stdin to the command and its CLOSE signal for EOF."""
    ns = daemon.create_ns(uniq("jsx"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}]}}
    assert daemon.post(f"/api/v1/namespaces/{ns}/pods", pod).status == 201
    poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/p").json["status"].get("phase") == "Running",
         desc="pod running")
    env = dict(os.environ, KUBECONFIG=str(daemon.kubeconfig))
    try:
        p = subprocess.run([NODE, str(JS / "exec_client.mjs"), ns, "p"], cwd=JS, env=env, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        assert "fatal" not in out, out
        f = out["failed"]
        assert f["protocol"] == "v5.channel.k8s.io"
        assert (f["stdout"], f["stderr"]) == ("out\n", "err\n")
        assert f["status"]["status"] == "Failure" and f["status"]["reason"] == "NonZeroExitCode", f
        assert f["status"]["details"]["causes"] == [{"reason": "ExitCode", "message": "6"}], f
        assert out["piped"]["stdout"] == "HELLO FROM NODE\n", out["piped"]
        assert out["piped"]["status"]["status"] == "Success", out["piped"]
    finally:
        assert daemon.delete(f"/api/v1/namespaces/{ns}/pods/p", query={"gracePeriodSeconds": "0"}).status == 200
        poll(lambda: daemon.get(f"/api/v1/namespaces/{ns}/pods/p").status == 404, desc="pod gone")
