#!/bin/sh
# Installs Debian's gnuplot-nox for bench/plot.sh when it is missing (as root
# or through sudo). The benchmark runs without it; only the PNG is skipped.
set -eu
command -v gnuplot >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "bench: gnuplot missing and no root/sudo to install gnuplot-nox; no plot" >&2
        exit 0
    }
    SUDO=sudo
fi
echo "bench: installing gnuplot-nox (for the latency plot)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null ||
    echo "bench: could not install gnuplot-nox; no plot" >&2
exit 0
