#!/usr/bin/env bash
# Installs what the far-and-slow-link benchmark (tests/bench/link_bench.py) needs on Debian 12
# on top of seafs's own dependencies: nginx for HTTPS with HTTP/2 in front of the reference
# server, the media tools it runs and builds its media folder with (fm_media.py), strace.
# Idempotent and quiet, like packaging/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

BENCH_PACKAGES=(nginx-light ffmpeg imagemagick strace python3-pil libimage-exiftool-perl)
bash packaging/install-deps.sh "${BENCH_PACKAGES[@]}"
