#!/usr/bin/env bash
# Installs every build and test dependency of seafs on Debian 12 (run as root).
# Idempotent and quiet: packages already present are not touched, apt-get update
# runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev liblz4-dev libsqlite3-dev
  zlib1g-dev libjansson-dev libcmocka-dev libsystemd-dev
  python3 python3-pytest python3-cryptography python3-argon2 libargon2-dev
  curl ca-certificates procps psmisc
  systemd
  seafile-cli seafile-daemon nghttp2-server
)

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
# Maintainer scripts talk on stderr too (systemd's: "Created symlink ...", "Creating group ..."
# in a container without systemd as init): their output is shown only when something fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
