#!/bin/bash
# check_layers.sh - the include graph of src/ points one way (issue 11).
# Each layer may include only the layers listed for it below; in particular
# no arrow from src/cam to src/api (methods take activations and gradients
# as arguments, the API's driver passes them down) and none from src/ops to
# src/graph (ops see what the planner tells them through gcam_opctx).
# Every file is one check; prints "N passed, N failed, 0 skipped".
# Usage: tools/check_layers.sh [SRC_DIR]   (default: the tree's src/)
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
declare -A allowed=(
    [util]="util"
    [kernels]="kernels util"
    [image]="image kernels util"
    [ops]="ops kernels util"
    [graph]="graph ops kernels util"
    [onnx]="onnx graph ops kernels util"
    [cam]="cam graph ops kernels image util"
    [api]="api cam graph onnx ops kernels image util"
    [eval]="eval api cam graph onnx ops kernels image util"
)
pass=0 fail=0
# The check itself must be able to fail: a made-up tree with the two
# forbidden arrows has to give exactly two failures.
if [ -z "${CHECK_LAYERS_INNER:-}" ]; then
    t=$(mktemp -d)
    mkdir -p "$t/cam" "$t/ops"
    printf '#include "api/model_internal.h"\n' > "$t/cam/m.c"
    printf '#include "graph/graph.h"\n' > "$t/ops/o.c"
    out=$(CHECK_LAYERS_INNER=1 bash "$0" "$t")
    rm -rf "$t"
    if echo "$out" | grep -q '^0 passed, 2 failed'; then
        pass=$((pass + 1))
    else
        echo "FAIL self-test: a tree with cam -> api and ops -> graph arrows gave: $(echo "$out" | tail -n 1)"
        fail=$((fail + 1))
    fi
fi
for dir in "$SRC"/*/; do
    layer=$(basename "$dir")
    ok_list=${allowed[$layer]}
    if [ -z "$ok_list" ]; then
        echo "FAIL src/$layer: a layer this check does not know (add it to the table in $0)"
        fail=$((fail + 1))
        continue
    fi
    for f in "$dir"*.c "$dir"*.h; do
        [ -e "$f" ] || continue
        bad=""
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
            case " $ok_list " in *" $inc "*) ;; *) bad="$bad $inc" ;; esac
        done
        if [ -n "$bad" ]; then
            echo "FAIL src/$layer/$(basename "$f") includes from:$bad (src/$layer may include: $ok_list)"
            fail=$((fail + 1))
        else
            pass=$((pass + 1))
        fi
    done
done
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
