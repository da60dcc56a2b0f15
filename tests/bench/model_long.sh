#!/usr/bin/env bash
# Long runs of the model-based random test of the local write path
# (tests/integration/test_mount_write_model.py): SEEDS seeds from FIRST, OPS operations each, both
# kernel cache modes; prints one line per seed and, for a failure, where its log is. Exit status 1
# when any seed failed. Uses the build in $SEAFS_BUILD_DIR (default: build/).
# Usage: tests/bench/model_long.sh [SEEDS [OPS [FIRST]]]   (default: 20 seeds, 2000 ops, from 1000)
set -uo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-20} ops=${2:-2000} first=${3:-1000}
export SEAFS_BUILD_DIR=${SEAFS_BUILD_DIR:-$PWD/build} SEAFS_MODEL_OPS=$ops
out=$(mktemp -d /var/tmp/seafs-model.XXXXXX)
failed=0
for ((seed = first; seed < first + seeds; seed++)); do
    log=$out/seed-$seed.log
    if SEAFS_MODEL_SEED=$seed /usr/bin/python3 -m pytest -q -p no:cacheprovider -x \
        tests/integration/test_mount_write_model.py >"$log" 2>&1; then
        echo "seed $seed: ok ($(tail -1 "$log"))"
        rm -f "$log"
    else
        echo "seed $seed: FAILED, see $log"
        failed=1
    fi
done
[ "$failed" = 0 ] && rmdir "$out" 2>/dev/null
exit "$failed"
