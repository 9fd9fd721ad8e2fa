#!/bin/sh
# Installs every Debian package that banger's build, tests and runtime need.
# Idempotent: installs only what is missing, and runs apt-get update at most once.
set -eu

PKGS="build-essential meson ninja-build pkg-config
libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev
libncurses-dev libarchive-dev libssl-dev libcmocka-dev
python3 python3-pytest python3-yaml
python3-jsonschema clang-format cppcheck
e2fsprogs iproute2 nftables openssh-client openssh-server
mmdebstrap qemu-system-x86 lz4 cpio kmod
bind9-dnsutils tmux sqlite3 curl clang libclang-rt-14-dev util-linux procps valgrind
systemd scdoc"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
