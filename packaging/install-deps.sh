#!/usr/bin/env bash
# Installs every build and test dependency of seafs on Debian 12 (run as root), and the
# packages named as arguments.
# Idempotent and quiet: packages already present are not touched, apt-get update
# runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev liblz4-dev libsqlite3-dev
  zlib1g-dev libjansson-dev libcmocka-dev
  python3 python3-pytest python3-cryptography python3-argon2 libargon2-dev
  curl ca-certificates procps psmisc
  seafile-cli seafile-daemon nghttp2-server
)
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
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
