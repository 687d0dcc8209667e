#!/bin/bash
# `gradcam sanity` and `gradcam report` from the outside (issue 13): the
# --json contract, verdicts, determinism by seed, the figure, help text for
# every flag, bad values, and a report page's basic shape.
# Usage: tests/cli/test_trust.sh build/gradcam
set -u
G=${1:-build/gradcam}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0; skip=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
expect_rc() { # want, name, command...
  local want=$1 name=$2; shift 2
  "$@" >"$T/o.txt" 2>"$T/e.txt"; local rc=$?
  [ "$rc" -eq "$want" ] && ok "$name (exit $rc)" || bad "$name: exit $rc, wanted $want: $(head -c 300 "$T/e.txt")"
}

# help text names every flag
"$G" sanity --help >"$T/h.txt" 2>&1
for f in --model --image --input-tensor --method --granularity --seed --threshold --verdict --no-independent --save-weights --json --out --quiet \
         --threads --layer --target --counterfactual --target-softmax --target-output --target-index --no-relu --normalize; do
  grep -q -- "$f" "$T/h.txt" || bad "sanity --help lacks $f"
done
ok "sanity --help names every flag"
"$G" report --help >"$T/h.txt" 2>&1
for f in --model --image --images --out --top --method --sanity --sanity-method --auc-method --granularity --threshold \
         --steps --sigma --title --quiet --threads --layer --target; do
  grep -q -- "$f" "$T/h.txt" || bad "report --help lacks $f"
done
ok "report --help names every flag"
"$G" --help | grep -q "sanity" && "$G" --help | grep -q "report" && ok "both commands listed" || bad "commands not listed"

# the contract: bundled model and sample, --json schema
expect_rc 0 "sanity on the bundled model" "$G" sanity --method gradcam --json "$T/s.json"
grep -q "gradcam: passes" "$T/o.txt" && ok "verdict on stdout: $(grep 'gradcam:' "$T/o.txt")" || bad "no verdict line: $(tail -n 2 "$T/o.txt")"
$PY - "$T/s.json" <<'PYEOF' && ok "--json schema, cascading order, Grad-CAM below 0.3" || bad "--json schema"
import json, sys, math
d = json.load(open(sys.argv[1]))
g = d["methods"]["gradcam"]
assert g["verdict"] in ("pass", "fail") and isinstance(g["threshold"], (int, float))
for kind in ("cascading", "independent"):
    assert len(g[kind]) == 14, (kind, len(g[kind]))
    for s in g[kind]:
        assert isinstance(s["step"], str)
        for k in ("spearman", "spearman_abs", "ssim", "hog"):
            assert isinstance(s[k], (int, float)) and -1.0001 <= s[k] <= 1.0001, (k, s[k])
c = g["cascading"]
assert c[0]["step"] == "/fc/Gemm" and c[-1]["step"] == "/stem/stem.0/Conv", (c[0]["step"], c[-1]["step"])
assert abs(c[-1]["spearman_abs"]) < 0.3, c[-1]
assert g["verdict"] == "pass" and g["rule"] == "mean" and g["mean_spearman_abs"] < 0.5
assert abs(g["final_spearman_abs"] - c[-1]["spearman_abs"]) < 1e-6
PYEOF

# several methods, blocks, cascading only, the figure
expect_rc 0 "two methods by block with a figure" "$G" sanity --method gradcam,saliency --granularity block \
  --no-independent --json "$T/b.json" --out "$T/fig.png" --quiet
head -c 8 "$T/fig.png" | od -An -tx1 | grep -q "89 50 4e 47" && ok "figure is a PNG" || bad "no PNG figure"
$PY - "$T/b.json" <<'PYEOF' && ok "blocks: fc, layer4..1, stem; independent empty" || bad "block JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d["methods"]) == {"gradcam", "saliency"}
steps = [s["step"] for s in d["methods"]["saliency"]["cascading"]]
assert steps == ["fc", "layer4", "layer3", "layer2", "layer1", "stem"], steps
assert d["methods"]["gradcam"]["independent"] == []
PYEOF

# seeded: same seed, same numbers; another seed, others
"$G" sanity --method gradcam --no-independent --seed 5 --json "$T/a5.json" --quiet >/dev/null 2>&1
"$G" sanity --method gradcam --no-independent --seed 5 --json "$T/b5.json" --quiet >/dev/null 2>&1
"$G" sanity --method gradcam --no-independent --seed 6 --json "$T/a6.json" --quiet >/dev/null 2>&1
cmp -s "$T/a5.json" "$T/b5.json" && ok "same seed, same results" || bad "same seed gave different results"
$PY -c "import json,sys; a=json.load(open('$T/a5.json')); b=json.load(open('$T/a6.json')); sys.exit(a['methods']==b['methods'])" \
  && ok "another seed, other results" || bad "the seed changes nothing"

# the re-drawn model computed another way (PyTorch ops on the saved weights)
$PY -c "import numpy as np; np.save('$T/x.npy', np.random.default_rng(0).standard_normal((1,3,96,96)).astype(np.float32))"
mkdir -p "$T/w"
if "$G" sanity --method gradcam --no-independent --quiet --seed 3 --input-tensor "$T/x.npy" --save-weights "$T/w" >/dev/null 2>&1 \
   && $PY "$ROOT/tests/cli/check_randomized.py" "$ROOT/models/demo.onnx" "$T/x.npy" "$T/w" >"$T/c.txt" 2>&1; then
  ok "re-drawn weights and logits match torch: $(head -n 1 "$T/c.txt" | sed 's/^ok *//')"
else bad "re-drawn model vs torch: $(cat "$T/c.txt")"; fi

# the same on resnet18 (BatchNormalization fused into oneDNN convs), when the parity fixtures exist
R18="$ROOT/tests/parity/fixtures/resnet18"
if [ -f "$R18/model.onnx" ] && [ -f "$R18/input.npy" ]; then
  mkdir -p "$T/w18"
  if "$G" sanity --model "$R18/model.onnx" --input-tensor "$R18/input.npy" --method gradcam --no-independent \
       --granularity block --quiet --seed 4 --save-weights "$T/w18" >/dev/null 2>&1 \
     && $PY "$ROOT/tests/cli/check_randomized.py" "$R18/model.onnx" "$R18/input.npy" "$T/w18" >"$T/c.txt" 2>&1; then
    ok "resnet18 re-drawn (BN included) matches torch: $(head -n 1 "$T/c.txt" | sed 's/^ok *//')"
  else bad "resnet18 re-drawn vs torch: $(cat "$T/c.txt")"; fi
else
  echo "SKIP resnet18 re-draw vs torch: no parity fixture at $R18 (made by tools/make_parity_fixtures.py)"; skip=$((skip + 1))
fi

# bad input: exit 2 for usage, 1 for run-time errors, no partial file
expect_rc 2 "bad --granularity" "$G" sanity --granularity wide
expect_rc 2 "bad --threshold" "$G" sanity --threshold 0
expect_rc 2 "bad --verdict" "$G" sanity --verdict maybe
expect_rc 2 "unknown method" "$G" sanity --method nosuch
expect_rc 1 "--json into a missing folder" "$G" sanity --method gradcam --no-independent --quiet --json "$T/no/such/s.json"
[ -z "$(ls "$T/no" 2>/dev/null)" ] && ok "no partial output" || bad "partial output left"

# the report
expect_rc 0 "report of one image" "$G" report --method gradcam,saliency --top 2 --out "$T/r.html" "$ROOT/models/samples/scene_02.png"
grep -q "$T/r.html" "$T/o.txt" && ok "report prints its path" || bad "path not printed: $(cat "$T/o.txt")"
grep -Eq 'alt="Grad-CAM map for class [^"]+ \(sigmoid probability 0\.[0-9]{3}\)' "$T/r.html" && ok "alt text names class and score" || bad "alt text"
grep -Eiq '(src|href)="(https?:)?//' "$T/r.html" && bad "report refers to the network" || ok "report self-contained"
expect_rc 2 "report refuses --input-tensor" "$G" report --input-tensor x.npy --out "$T/x.html"
expect_rc 1 "report of a missing image" "$G" report --out "$T/m.html" "$T/missing.png"
[ ! -e "$T/m.html" ] && ok "no page left after a failure" || bad "a failed report left a page"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
