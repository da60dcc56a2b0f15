#!/usr/bin/env bash
# Installs what the desktop tests (tests/desktop/run.sh) and the file-manager benchmark
# (tests/bench/fm_bench.py) need on Debian 12, on top of seafs's own dependencies: an X server,
# a file manager, a thumbnailer, OCR and media tools. Kept out of packaging/install-deps.sh's list
# on purpose: CI (tests/run.sh) must not install a desktop. gvfs pulls in udisks2 (and with it
# udev and systemd packages). Idempotent and quiet, like packaging/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

DESKTOP_PACKAGES=(
  xvfb imagemagick tesseract-ocr tesseract-ocr-eng
  dbus thunar xfconf gvfs libglib2.0-bin python3-gi gir1.2-glib-2.0
  tumbler tumbler-plugins-extra ffmpeg python3-pil libimage-exiftool-perl file strace
)
bash packaging/install-deps.sh "${DESKTOP_PACKAGES[@]}"
