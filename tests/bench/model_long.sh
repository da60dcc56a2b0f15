#!/usr/bin/env bash
# Long runs of the model-based random test of the local write path
# (tests/integration/test_mount_write_model.py): SEEDS seeds from FIRST, OPS operations each, both
# kernel cache modes; prints one line per seed. A failing seed keeps its pytest output, operation
# log (model-ops.log) and daemon log (m/seafs.log) under the directory printed. Exit status 1 when
# any seed failed. Uses the build in $SEAFS_BUILD_DIR (default: build/); do not rebuild it while
# this runs. Usage: tests/bench/model_long.sh [SEEDS [OPS [FIRST]]]  (default: 20, 2000, 1000)
set -uo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-20} ops=${2:-2000} first=${3:-1000}
export SEAFS_BUILD_DIR=${SEAFS_BUILD_DIR:-$PWD/build} SEAFS_MODEL_OPS=$ops
out=$(mktemp -d /var/tmp/seafs-model.XXXXXX)
failed=0
for ((seed = first; seed < first + seeds; seed++)); do
    dir=$out/seed-$seed
    mkdir -p "$dir"
    if SEAFS_MODEL_SEED=$seed /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        --basetemp="$dir/tmp" tests/integration/test_mount_write_model.py >"$dir/pytest.log" 2>&1
    then
        echo "seed $seed: ok ($(tail -1 "$dir/pytest.log"))"
        rm -rf "$dir"
    else
        echo "seed $seed: FAILED, see $dir/pytest.log"
        failed=1
    fi
done
[ "$failed" = 0 ] && rmdir "$out" 2>/dev/null
exit "$failed"
