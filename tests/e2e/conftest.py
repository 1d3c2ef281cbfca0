"""End-to-end fixtures: one torchjobd for the whole session on 127.0.0.1:<free port> with a
temporary data dir. Nothing is built here: run `make` first (TORCHJOBD may point at another
binary, e.g. build-asan/torchjobd).

Fixtures:
  daemon   — the session's e2elib.Daemon: base_url, token, ca_path, kubeconfig, data_dir,
             api(method, path, body=None, headers=None, token=...) → Resp(status, headers, body),
             kubectl(*args) → CompletedProcess, api_client (python-kubernetes ApiClient).
  kubectl  — daemon.kubectl (skips the test when kubectl is not installed).
  pyclient — daemon.api_client.
  ns       — a fresh namespace per test module.
  make_daemon — factory for extra daemons (own data dir, own args, extra env); stopped at teardown.
"""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2elib  # noqa: E402

_daemons = []


def _stop_checked(d):
    rc = d.stop()
    assert rc == 0, f"torchjobd exited with {rc} after SIGTERM; log tail:\n{d.log_tail()}"


@pytest.fixture(scope="session")
def daemon(tmp_path_factory):
    base = tmp_path_factory.mktemp("torchjobd")
    d = e2elib.Daemon(base / "data", kubectl_cache=base / "kubectl-cache")
    _daemons.append(d)
    d.start()
    yield d
    _stop_checked(d)
    left = [c for c in e2elib.child_processes()]
    assert not left, f"child processes of the test run left behind: {left}"


@pytest.fixture(scope="module")
def make_daemon(tmp_path_factory):
    started = []

    def make(args=(), setup=None, start=True, env=None):
        base = tmp_path_factory.mktemp("torchjobd-extra")
        d = e2elib.Daemon(base / "data", args=args, kubectl_cache=base / "kubectl-cache", env=env)
        if setup:
            setup(d)
        _daemons.append(d)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    errors = []
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            rc = d.stop()
            if rc != 0:
                errors.append(f"{d.data_dir}: exit {rc}\n{d.log_tail()}")
    assert not errors, "extra torchjobd did not stop cleanly:\n" + "\n".join(errors)


@pytest.fixture
def kubectl(daemon):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    return daemon.kubectl


@pytest.fixture
def pyclient(daemon):
    return daemon.api_client


@pytest.fixture(scope="module")
def ns(daemon, request):
    base = request.module.__name__.split(".")[-1].replace("_", "-").replace("test-", "")
    return daemon.create_ns(e2elib.uniq(base[:20]))


def pytest_report_header(config):
    return f"torchjobd binary: {e2elib.binary_path()}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus != 0 and _daemons:
        terminalreporter.write_line("torchjobd logs:")
        for d in _daemons:
            terminalreporter.write_line(f"  {d.log_path}")
