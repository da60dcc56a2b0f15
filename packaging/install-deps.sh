#!/usr/bin/env bash
# Installs every build and test dependency of seafs on Debian 12 (run as root), and the
# packages named as arguments; with --deb first, only what building the Debian package needs
# (packaging/build-deb.sh).
# Idempotent and quiet: packages already present are not touched, apt-get update
# runs only when something is missing.
set -euo pipefail

# The build of the seafs binary (packaging/debian/control's Build-Depends) and Debian's tools.
DEB_PACKAGES=(
  build-essential cmake pkg-config
  libfuse3-dev libcurl4-openssl-dev libssl-dev liblz4-dev libsqlite3-dev
  zlib1g-dev libjansson-dev libargon2-dev libsystemd-dev
  debhelper dpkg-dev lintian
)
PACKAGES=(
  "${DEB_PACKAGES[@]}"
  clang clang-format libclang-rt-14-dev fuse3 libcmocka-dev
  python3 python3-pytest python3-cryptography python3-argon2
  curl ca-certificates procps psmisc passwd util-linux libglib2.0-bin
  systemd
  seafile-cli seafile-daemon nghttp2-server nginx-light
)
if [ "${1:-}" = --deb ]; then
  PACKAGES=("${DEB_PACKAGES[@]}")
  shift
fi
PACKAGES+=("$@")  # more packages a caller needs (tests/desktop/install-deps.sh: the desktop's)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# apt's output (maintainer scripts too: systemd's "Created symlink ..." in a container) is shown
# only when it fails; another apt/dpkg run holding the lock is waited for.
log=$(mktemp)
# Services the packages would start (nginx on port 80) stay stopped: the tests start their own.
# A policy-rc.d of our own says so to invoke-rc.d while apt runs, and goes with it.
policy=/usr/sbin/policy-rc.d own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=$policy
fi
trap 'rm -f "$log" $own_policy' EXIT
install_missing() {
  apt-get update -qq -o DPkg::Lock::Timeout=300 &&
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}"
}
if ! install_missing >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: installing ${missing[*]} failed (apt-get output above)" >&2
  exit 1
fi
