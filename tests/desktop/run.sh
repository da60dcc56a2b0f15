#!/usr/bin/env bash
# Runs the desktop tests (tests/desktop/test_*.py): Thunar under Xvfb copying into a seafs mount,
# read back from a screenshot with tesseract, and `gio mount -l` of a mount named by its fstab
# line. Slow and needs desktop packages, so neither tests/run.sh nor CI runs it. As root:
#   bash tests/desktop/run.sh [pytest args]
# Installs its packages (tests/desktop/install-deps.sh), builds seafs into build/ unless
# SEAFS_BUILD_DIR names a build, and adds a line to /etc/fstab for the duration of one test
# (restored afterwards, also when the test fails).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/desktop/install-deps.sh
if [ -z "${SEAFS_BUILD_DIR:-}" ]; then
  cmake -S . -B build -DSEAFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
  export SEAFS_BUILD_DIR=$PWD/build
fi
exec timeout 900 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/desktop "$@"
