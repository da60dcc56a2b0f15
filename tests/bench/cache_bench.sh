#!/usr/bin/env bash
# Builds the cache benchmark (Release) and runs it once; prints lz4 figures, read throughput of
# cached blocks next to a plain file on the same disk, and the cost of a hit with 100,000 objects
# in the index. Usage: tests/bench/cache_bench.sh [work dir]  (default: build-bench/bench-data)
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target cache_bench >/dev/null
exec build-bench/tests/unit/cache/cache_bench "${1:-build-bench/bench-data}"
