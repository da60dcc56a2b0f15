#!/usr/bin/env bash
# Builds seafs and runs every test: the clang-format check, C unit tests (plain -Werror build,
# ASan+UBSan build, TSan build of the concurrency tests), a bounded libFuzzer run of the object
# parsers, and the pytest integration suite against the reference server. Exits non-zero when
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=$(nproc)

bash packaging/install-deps.sh

step() { printf '\n=== %s\n' "$*"; }

step "format check (clang-format)"
mapfile -t C_FILES < <(git ls-files '*.c' '*.h' 2>/dev/null || find net cache fs tests -name '*.[ch]')
clang-format --dry-run --Werror "${C_FILES[@]}"

step "build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DSEAFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"

step "unit tests"
ctest --test-dir build --output-on-failure -j"$JOBS"

step "unit tests under ASan+UBSan"
cmake -S . -B build-asan -DSEAFS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
      -DSEAFS_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$JOBS"
ctest --test-dir build-asan --output-on-failure -j"$JOBS"

step "concurrency tests under TSan"
cmake -S . -B build-tsan -DSEAFS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug -DSEAFS_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$JOBS"
ctest --test-dir build-tsan --output-on-failure -L concurrency --no-tests=ignore

step "fuzzing the object parsers (libFuzzer, bounded)"
bash tests/fuzz/run.sh "${SEAFS_FUZZ_SECONDS:-20}"

step "integration tests (pytest)"
export SEAFS_BUILD_DIR="$ROOT/build"
set +e
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest: no integration tests collected" >&2
fi
exit "$rc"
