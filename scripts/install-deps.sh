#!/usr/bin/env bash
# Install the Debian packages torchjob needs to build, run and test, when they are missing.
# Runs as root (or through sudo); idempotent and quiet when everything is present.
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libuv1-dev libhttp-parser-dev libssl-dev libjansson-dev libsqlite3-dev libyaml-dev   # the daemon
  libjemalloc-dev                                                          # its allocator
  libcmocka-dev                                                            # C unit tests
  python3 python3-pytest python3-kubernetes python3-websocket python3-yaml python3-torch     # end-to-end tests, DDP example
  openssl curl procps strace prometheus                                     # metrics scrape test
)
# make bench / bench-smoke: the anchors (nginx, etcd), the HTTP load generator, the profiler
[[ ${TORCHJOB_BENCH:-0} == 1 ]] && pkgs+=(nginx-light etcd-server etcd-client wrk linux-perf)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl is not in Debian's archive; the machine image ships it (/usr/bin/kubectl). The
# kubectl tests are skipped, loudly, where it is missing.
command -v kubectl >/dev/null || echo "install-deps: kubectl not found; kubectl tests will be skipped" >&2
exit 0
