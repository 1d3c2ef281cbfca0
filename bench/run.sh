#!/usr/bin/env bash
# bench/run.sh — entry of `make bench` and `make bench-smoke` (arguments go to bench/bench.py).
# Installs the anchors (nginx, etcd) and wrk when missing, lets this shell and its children open
# as many files as the hard limit allows (10,000 watchers need more than 10,000 descriptors on each
# side), then runs the suite. The Makefile builds torchjobd and bench/tjload.c first.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCHJOB_BENCH=1 bash scripts/install-deps.sh
hard=$(ulimit -Hn)
ulimit -Sn "$hard" || true
[[ $hard == unlimited || $hard -ge 10300 ]] ||
  echo "bench: open-file limit $hard is below what 10,000 watchers need; those figures are skipped" >&2
exec /usr/bin/python3 bench/bench.py "$@"
