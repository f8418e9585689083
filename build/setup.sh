#!/usr/bin/env bash
# Set up a machine for running and developing k3trio from this checkout:
#   - as root on Debian/Ubuntu: the host packages the node agent and the tests use
#     (containerd, runc, CNI plugins, iptables, static busybox/catatonit for local images,
#     etcd for the etcd datastore);
#   - a virtualenv in .venv with k3trio installed (editable) and, with --test, the test tools.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[ "${1:-}" = "--test" ] && with_test=1

packages="containerd runc containernetworking-plugins iptables iproute2 busybox-static catatonit etcd-server etcd-client"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for p in $packages; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "setup: installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: k3trio needs Python >= 3.11 ($python is $("$python" --version 2>&1))" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
if [ "$with_test" = 1 ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
else
    .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
echo "setup: ready (.venv/bin/k3trio)"
