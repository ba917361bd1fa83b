#!/bin/sh
# Installs, through apt-get, the Debian packages the connectors need on top
# of the engine's (scripts/install-deps.sh): HTTP + TLS (libcurl, OpenSSL
# flavour), JSON (jansson), iCalendar (libical, with its built-in zone
# info). Idempotent; quiet when all are present. Needs root or sudo.
set -eu
PKGS="libcurl4-openssl-dev libjansson-dev libical-dev tzdata"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "connectors/install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "connectors/install-deps: need root (or sudo) to apt-get install:$missing" >&2
        exit 1
    }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "connectors/install-deps: done"
