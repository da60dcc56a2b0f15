#!/usr/bin/env bash
# Builds the libFuzzer targets of the Seafile object parsers (fs objects, commits, pack-fs
# bodies) with clang -fsanitize=fuzzer,address,undefined and runs each for a bounded time,
# seeded from the real-server vectors. usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] (default 20)
# Exits non-zero when a target crashes, leaks or trips a sanitizer; the reproducer is kept in
# the printed work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-20}
VECTORS=${SEAFS_VECTORS:-$(cd .. && pwd)/shared/vectors/real-server}
WORK=$(mktemp -d -t seafs-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

SOURCES=(common/seaf_error.c common/seaf_ids.c common/seaf_sha1.c net/seaf_parse_msg.c
         net/seaf_json_field.c net/seaf_commit.c net/seaf_fsobj.c net/seaf_dir_scan.c
         net/seaf_packfs.c)
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
        -fno-sanitize-recover=undefined -Icommon -Inet)
LIBS=$(pkg-config --libs jansson zlib libcrypto)

/usr/bin/python3 tests/fuzz/make_seeds.py "$VECTORS" "$WORK/seeds"
status=0
for target in fsobj commit packfs; do
  echo "=== fuzz_$target (${SECONDS_PER_TARGET}s)"
  # shellcheck disable=SC2086
  clang "${CFLAGS[@]}" -o "$WORK/fuzz_$target" "tests/fuzz/fuzz_$target.c" "${SOURCES[@]}" $LIBS
  mkdir -p "$WORK/corpus_$target"
  if ! "$WORK/fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
       -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$WORK/crash-$target-" \
       "$WORK/corpus_$target" "$WORK/seeds/$target" 2>"$WORK/fuzz_$target.log"; then
    tail -n 60 "$WORK/fuzz_$target.log"
    echo "fuzz_$target FAILED; reproducer(s) and log kept in $WORK" >&2
    trap - EXIT
    status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$WORK/fuzz_$target.log" | tail -n 2
  fi
done
exit "$status"
