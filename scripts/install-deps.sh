#!/bin/sh
# Installs, through apt-get, Debian packages that are missing: with no
# arguments, what shiftkey needs to build, run and test; with arguments,
# exactly the packages named (the connectors' and the fuzzers' fragments use
# it that way). Idempotent; quiet when all are present. Needs root or sudo.
#   sh scripts/install-deps.sh
#   sh scripts/install-deps.sh clang-14 libclang-rt-14-dev
set -eu
PKGS="build-essential pkg-config librdkafka-dev libavro-dev libhiredis-dev
libcyaml-dev libyaml-dev libxxhash-dev redis-server redis-tools kcat
python3 python3-confluent-kafka python3-avro python3-nacl libsodium-dev gnuplot-nox clang-format
libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev python3-prometheus-client zlib1g-dev"
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps: need root (or sudo) to apt-get install:$missing" >&2
        exit 1
    }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
