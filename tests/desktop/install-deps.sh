#!/usr/bin/env bash
# Installs what the desktop test (tests/desktop/run.sh) and the file-manager benchmark
# (tests/bench/fm_bench.py) need on Debian 12, on top of packaging/install-deps.sh: an X server,
# a file manager, a thumbnailer, OCR and media tools. Kept apart on purpose: CI (tests/run.sh)
# must not install a desktop. gvfs pulls in udisks2 (and with it udev and systemd packages).
# Idempotent and quiet, like packaging/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash packaging/install-deps.sh

DESKTOP_PACKAGES=(
  xvfb x11-utils xdotool imagemagick tesseract-ocr tesseract-ocr-eng
  dbus dbus-x11 thunar xfconf gvfs libglib2.0-bin python3-gi gir1.2-glib-2.0
  tumbler tumbler-plugins-extra ffmpeg python3-pil libimage-exiftool-perl file strace
)

missing=()
for p in "${DESKTOP_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "desktop install-deps: missing packages: ${missing[*]} (run as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
