#!/bin/sh
# `make bench` step: make sure wrk (the load generator) is installed. Tries Debian's package when missing;
# never fails the build: without wrk, bench/bench.py falls back to a slower Python client pool and says so.
command -v wrk >/dev/null 2>&1 && exit 0
echo "bench: wrk not found; trying apt-get install -y wrk" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "bench: not root and no sudo: cannot install wrk; the Python client pool will generate the load" >&2
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "bench: no apt-get; the Python client pool will generate the load" >&2; exit 0; }
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q wrk >/dev/null 2>&1 \
    || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q wrk >/dev/null 2>&1; } \
    || echo "bench: apt-get could not install wrk; the Python client pool will generate the load" >&2
exit 0
