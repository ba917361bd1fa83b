#!/bin/sh
# Installs what `make fuzz` needs beyond scripts/install-deps.sh: clang-14
# and its runtime libraries (libFuzzer, ASan, UBSan), Debian bookworm
# packages. Idempotent; quiet when clang-14 and libFuzzer are present. Runs
# apt-get as root or through sudo, like scripts/install-deps.sh.
set -eu
have_clang() {
    command -v clang-14 >/dev/null 2>&1 &&
        ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1
}
have_clang && exit 0
PKGS="clang-14 libclang-rt-14-dev"
echo "install-fuzz-deps: installing: $PKGS"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-fuzz-deps: need root (or sudo) to apt-get install: $PKGS" >&2
        exit 1
    }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
have_clang || { echo "install-fuzz-deps: clang-14 or libFuzzer still missing" >&2; exit 1; }
echo "install-fuzz-deps: done"
