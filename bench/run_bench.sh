#!/bin/bash
# Side-by-side benchmark: gradcam against PyTorch 1.13 (Debian's python3-torch,
# whose convolutions are the same oneDNN 2.6) and onnxruntime (npm's
# onnxruntime-node, bench/ort_bench.js), same machine, same run, same
# thread count, same seeded weights (tools/make_parity_fixtures.py).
#
#   bash bench/run_bench.sh [BUILD_DIR]          (make bench)
#
# Environment:
#   BENCH_MODELS   models (default resnet50,vgg16,mobilenet_v2,efficientnet_b0,densenet121)
#   BENCH_THREADS  threads on both sides (2)
#   BENCH_REPEAT   timed runs after BENCH_WARMUP warm-up runs (10, 3); medians are reported
#   BENCH_EXTRA    models timed against onnxruntime only, exported by tools/export_torch_models.py
#                  into ~/.cache/gradcam/torch-export (default vit_b_16,swin_t,deeplabv3_mobilenet_v3_large;
#                  "" skips them): forward, Grad-CAM on the automatic layer, per-op-type profile
#   BENCH_ROUNDS   rounds of (ours, onnxruntime) per model, interleaved (3): a shared machine's
#                  speed drifts over seconds, so one timing of each side in turn can differ by
#                  more than the sides do; each side reports the median of its round medians
#   BENCH_TORCH    1: the PyTorch columns (default); 0 leaves torch out (ours and onnxruntime only)
#   BENCH_WAIT     OMP_WAIT_POLICY for both sides (onnxruntime's allow_spinning follows it);
#                  passive: libgomp's default spinning
#                  burns the time slices of a shared machine; set "active" on a quiet one)
#   BENCH_CPUS     pin both sides to these CPUs with taskset (e.g. 0,1), default: no pinning
#   BENCH_IMAGES   images for the throughput run (64; 0 skips it)
#   BENCH_CAMS     Ablation-CAM and Score-CAM on resnet18 and Ablation-CAM on resnet50, batch 32
#                  both sides, and Score-CAM's peak RSS on resnet50 (1; 0 skips them)
#
# Prints a Markdown table of the medians and the ratios ours / torch, plus
# machine, load and versions; keeps the raw JSON in BUILD_DIR/bench/.  A
# benchmark, not a test: it fails only if something cannot run.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
MODELS=${BENCH_MODELS:-resnet50,vgg16,mobilenet_v2,efficientnet_b0,densenet121}
THREADS=${BENCH_THREADS:-2}
REPEAT=${BENCH_REPEAT:-10}
WARMUP=${BENCH_WARMUP:-3}
NIMG=${BENCH_IMAGES:-64}
CAMS=${BENCH_CAMS:-1}
export OMP_WAIT_POLICY=${BENCH_WAIT:-passive}
export OMP_NUM_THREADS=$THREADS
FIX=$ROOT/tests/parity/fixtures
OUT=$BUILD/bench
RAW=$OUT/raw
mkdir -p "$RAW"
PIN=()
[ -n "${BENCH_CPUS:-}" ] && PIN=(taskset -c "$BENCH_CPUS")

cmake --build "$BUILD" --target gradcam gcam_bench sgemm_peak -j "$(nproc)" >/dev/null
# onnxruntime (npm's onnxruntime-node, cached outside git by tools/ort_setup.sh):
# the forward pass to beat; the columns are left out when it cannot be had
ORT=$(bash "$ROOT/tools/ort_setup.sh" 2>/dev/null) || ORT=""
# fixtures (model.onnx, input.npy) are generated once and cached
$PY "$ROOT/tools/make_parity_fixtures.py" --out "$FIX" --models "$MODELS" --threads "$THREADS" >/dev/null

# onnxruntime's intra-op threads spin while waiting unless told not to: match our side
SPIN=1; [ "$OMP_WAIT_POLICY" = passive ] && SPIN=0
EXTRA=${BENCH_EXTRA-vit_b_16,swin_t,deeplabv3_mobilenet_v3_large}
XDIR=${GCAM_CACHE:-$HOME/.cache/gradcam}/torch-export
if [ -n "$EXTRA" ]; then
  $PY "$ROOT/tools/export_torch_models.py" --out "$XDIR" --models "$EXTRA" || EXTRA=""
  $PY -c "import numpy as np; np.random.seed(5); np.save('$OUT/x224.npy', np.random.randn(1, 3, 224, 224).astype('float32'))"
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"${PIN[@]}" "$BUILD/sgemm_peak" "$THREADS" >"$RAW/sgemm_peak.json"

json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))" "$@"; }
rss_kb() { /usr/bin/time -f %M -o "$1" "${@:2}" >/dev/null 2>&1 || echo 0 >"$1"; tail -n 1 "$1"; }
ROUNDS=${BENCH_ROUNDS:-3}
# merge_rounds OUT.json IN.json...: the first round's fields, with every *_ms_median the
# median of the rounds' medians and the rounds' medians listed
merge_rounds() {
  $PY - "$@" <<'PYEOF'
import json, statistics, sys
runs = [json.load(open(f)) for f in sys.argv[2:]]
out = dict(runs[0])
for k in [k for k in out if k.endswith("_ms_median")]:
    out[k] = statistics.median(r[k] for r in runs)
    out[k[:-len("_median")] + "_round_medians"] = [r[k] for r in runs]
json.dump(out, open(sys.argv[1], "w"))
PYEOF
}
# ours and onnxruntime on one model and input, ROUNDS times in turn: NAME.ours.json, NAME.ort.json
ours_vs_ort() {
  local name=$1 model=$2 input=$3 reps=$4 warm=$5; shift 5
  local o=() a=()
  for r in $(seq "$ROUNDS"); do
    "${PIN[@]}" "$BUILD/gcam_bench" --model "$model" --input "$input" "$@" --threads "$THREADS" \
      --warmup "$warm" --repeat "$reps" >"$RAW/$name.ours.$r.json"
    o+=("$RAW/$name.ours.$r.json")
    if [ -n "$ORT" ] && "${PIN[@]}" node "$ROOT/bench/ort_bench.js" --ort "$ORT" --model "$model" --input "$input" \
         --threads "$THREADS" --warmup "$warm" --repeat "$reps" --spin "$SPIN" >"$RAW/$name.ort.$r.json"; then
      a+=("$RAW/$name.ort.$r.json")
    fi
  done
  merge_rounds "$RAW/$name.ours.json" "${o[@]}"
  rm -f "$RAW/$name.ort.json"
  if [ ${#a[@]} -gt 0 ]; then merge_rounds "$RAW/$name.ort.json" "${a[@]}"; fi
  rm -f "${o[@]}" "${a[@]}"
}

for m in ${MODELS//,/ }; do
  layer=$(json "$FIX/$m/manifest.json" layer)
  echo "bench: $m" >&2
  ours_vs_ort "$m" "$FIX/$m/model.onnx" "$FIX/$m/input.npy" "$REPEAT" "$WARMUP" --layer "$layer"
  rm -f "$RAW/$m.torch.json" "$RAW/$m.torch.rss"
  [ "${BENCH_TORCH:-1}" = 1 ] && "${PIN[@]}" $PY "$ROOT/bench/torch_bench.py" --model "$m" --threads "$THREADS" \
    --fixtures "$FIX" --cache "$OUT/torch" --warmup "$WARMUP" --repeat "$REPEAT" >"$RAW/$m.torch.json"
  # peak resident memory of one Grad-CAM, process start to end
  rss_kb "$RAW/$m.ours.rss" "${PIN[@]}" "$BUILD/gradcam" explain --model "$FIX/$m/model.onnx" \
    --input-tensor "$FIX/$m/input.npy" --layer "$layer" --threads "$THREADS" --quiet >/dev/null
  [ "${BENCH_TORCH:-1}" = 1 ] && rss_kb "$RAW/$m.torch.rss" "${PIN[@]}" $PY "$ROOT/bench/torch_bench.py" --model "$m" --threads "$THREADS" \
    --fixtures "$FIX" --cache "$OUT/torch" --mode gradcam --warmup 0 --repeat 1 >/dev/null
  $PY "$ROOT/bench/flops.py" "$FIX/$m/model.onnx" >"$RAW/$m.flops.json"
done

# transformers and segmentation: onnxruntime only (no torch fixture), automatic layer
for m in ${EXTRA//,/ }; do
  echo "bench: $m (against onnxruntime)" >&2
  reps=$REPEAT; [ "$m" = vit_b_16 ] && reps=$(( REPEAT < 5 ? REPEAT : 5 ))
  ours_vs_ort "$m.extra" "$XDIR/$m.onnx" "$OUT/x224.npy" "$reps" 1
  "${PIN[@]}" "$BUILD/gradcam" classify --model "$XDIR/$m.onnx" --input-tensor "$OUT/x224.npy" --threads "$THREADS" \
    --repeat "$reps" --profile 2>"$RAW/$m.extra.profile" >/dev/null || true
  $PY "$ROOT/bench/flops.py" "$XDIR/$m.onnx" >"$RAW/$m.extra.flops.json" || echo '{"gflop": 0}' >"$RAW/$m.extra.flops.json"
done

# throughput: explain every image of a folder, model loaded once (resnet50)
if [ "$NIMG" -gt 0 ]; then
  $PY "$ROOT/bench/make_images.py" "$OUT/images" --count "$NIMG"
  rm -rf "$OUT/overlays.ours" "$OUT/overlays.torch"
  mkdir -p "$OUT/overlays.ours" "$OUT/overlays.torch"
  echo "bench: throughput ($NIMG images)" >&2
  "${PIN[@]}" "$BUILD/gcam_bench" --model "$FIX/resnet50/model.onnx" --input "$FIX/resnet50/input.npy" \
    --mode load --threads "$THREADS" --images "$OUT/images" --out "$OUT/overlays.ours" >"$RAW/images.ours.json"
  "${PIN[@]}" $PY "$ROOT/bench/torch_bench.py" --model resnet50 --threads "$THREADS" --fixtures "$FIX" \
    --cache "$OUT/torch" --mode load --images "$OUT/images" --out "$OUT/overlays.torch" >"$RAW/images.torch.json"
  # the same work as one `gradcam explain` process per image (model loaded each time)
  t0=$(date +%s.%N)
  for f in "$OUT"/images/*; do
    "${PIN[@]}" "$BUILD/gradcam" explain --model "$FIX/resnet50/model.onnx" "$f" --threads "$THREADS" \
      --out "$OUT/overlays.ours/$(basename "$f").cli.png" --quiet
  done
  t1=$(date +%s.%N)
  echo "{\"images\": $NIMG, \"images_s\": $(echo "$t1 - $t0" | bc)}" >"$RAW/images.cli.json"
fi
# perturbation methods, batch 32 on both sides (slow on torch: one run each;
# Ablation-CAM in torch re-runs the whole network per channel batch: 64 batches
# of 32 on resnet50's last block), and Score-CAM's peak memory on resnet50
if [ "$CAMS" -eq 1 ]; then
  $PY "$ROOT/tools/make_parity_fixtures.py" --out "$FIX" --models resnet18,resnet50 --threads "$THREADS" >/dev/null
  for job in resnet18:ablationcam resnet18:scorecam resnet50:ablationcam; do
    m=${job%%:*}; meth=${job#*:}
    lay=$(json "$FIX/$m/manifest.json" layer)
    echo "bench: $meth ($m)" >&2
    reps=3; [ "$meth" = scorecam ] && reps=1
    "${PIN[@]}" "$BUILD/gcam_bench" --model "$FIX/$m/model.onnx" --input "$FIX/$m/input.npy" \
      --layer "$lay" --threads "$THREADS" --method "$meth" --batch-size 32 --mode gradcam --warmup 1 \
      --repeat $reps >"$RAW/$meth.$m.ours.json"
    rm -f "$RAW/$meth.$m.torch.json"
    [ "${BENCH_TORCH:-1}" = 1 ] && "${PIN[@]}" $PY "$ROOT/bench/torch_bench.py" --model "$m" --threads "$THREADS" \
      --fixtures "$FIX" --cache "$OUT/torch" --method "$meth" --batch-size 32 --mode gradcam --warmup 0 --repeat 1 \
      >"$RAW/$meth.$m.torch.json"
  done
  # onnxruntime's yardsticks: one forward, and a batch of 32 (Score-CAM's masked passes
  # run 32 at a time on our side too); Grad-CAM++ on our side beside them
  for m in resnet18 resnet50; do
    if [ -n "$ORT" ]; then
      for b in 1 32; do
        "${PIN[@]}" node "$ROOT/bench/ort_bench.js" --ort "$ORT" --model "$FIX/$m/model.onnx" --input "$FIX/$m/input.npy" \
          --threads "$THREADS" --warmup 1 --repeat 3 --spin "$SPIN" --batch $b >"$RAW/ort.b$b.$m.json" || rm -f "$RAW/ort.b$b.$m.json"
      done
    fi
    "${PIN[@]}" "$BUILD/gcam_bench" --model "$FIX/$m/model.onnx" --input "$FIX/$m/input.npy" \
      --layer "$(json "$FIX/$m/manifest.json" layer)" --threads "$THREADS" --method gradcam++ --mode gradcam \
      --warmup 1 --repeat "$REPEAT" >"$RAW/gradcam++.$m.ours.json"
  done
  echo "bench: scorecam peak memory (resnet50)" >&2
  rss_kb "$RAW/scorecam.resnet50.ours.rss" "${PIN[@]}" "$BUILD/gradcam" explain --model "$FIX/resnet50/model.onnx" \
    --input-tensor "$FIX/resnet50/input.npy" --method scorecam --threads "$THREADS" --quiet >/dev/null
fi
# the Python package (python/, ctypes over libgcam.so) against torch on resnet18:
# Grad-CAM, Score-CAM, Ablation-CAM (batch 32 both sides); BENCH_PYTHON=0 skips it
PYB=$PY
[ -x "$BUILD/pyenv/bin/python" ] && PYB=$BUILD/pyenv/bin/python  # the installed copy (tools/run_python_tests.sh)
if [ "${BENCH_PYTHON:-1}" -eq 1 ]; then
  $PY "$ROOT/tools/make_parity_fixtures.py" --out "$FIX" --models resnet18 --threads "$THREADS" >/dev/null
  lay=$(json "$FIX/resnet18/manifest.json" layer)
  for meth in gradcam scorecam ablationcam; do
    echo "bench: python package $meth (resnet18)" >&2
    reps=$REPEAT; [ "$meth" = scorecam ] && reps=1; [ "$meth" = ablationcam ] && reps=3
    "${PIN[@]}" $PYB "$ROOT/bench/python_bench.py" --model "$FIX/resnet18/model.onnx" --input "$FIX/resnet18/input.npy" \
      --layer "$lay" --method "$meth" --batch-size 32 --threads "$THREADS" --warmup 1 --repeat $reps >"$RAW/py.$meth.json"
    "${PIN[@]}" $PY "$ROOT/bench/torch_bench.py" --model resnet18 --threads "$THREADS" --fixtures "$FIX" \
      --cache "$OUT/torch" --method "$meth" --batch-size 32 --mode gradcam --warmup 1 --repeat $reps >"$RAW/py.$meth.torch.json"
  done
fi
# gradcam batch throughput, --batch 1 vs --batch 8, on the throughput images (resnet50)
if [ "$NIMG" -gt 0 ]; then
  for b in 1 8; do
    echo "bench: gradcam batch --batch $b ($NIMG images)" >&2
    rm -rf "$OUT/batch.$b"
    t0=$(date +%s.%N)
    "${PIN[@]}" "$BUILD/gradcam" batch --model "$FIX/resnet50/model.onnx" --images "$OUT/images" --out "$OUT/batch.$b" \
      --batch $b --threads "$THREADS" --save-npy --quiet
    t1=$(date +%s.%N)
    echo "{\"images\": $NIMG, \"images_s\": $(echo "$t1 - $t0" | bc)}" >"$RAW/batch.$b.json"
  done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

$PY - "$RAW" "$MODELS" "$NIMG" "$load_start" "$load_end" "$BUILD/gradcam" "$THREADS" "$OMP_WAIT_POLICY" "$CAMS" "$EXTRA" <<'EOF'
import json, os, platform, subprocess, sys
raw, models, nimg, l0, l1, gradcam, threads, wait, cams, extra = sys.argv[1:11]
NO_TORCH = {"torch": "not run", "forward_ms_median": 0, "gradcam_ms_median": 0, "load_ms": 0}
J = lambda n: json.load(open(os.path.join(raw, n))) if os.path.exists(os.path.join(raw, n)) or ".torch." not in n else NO_TORCH
rss = lambda n: int(open(os.path.join(raw, n)).read().split()[-1] or 0) / 1024.0 if os.path.exists(os.path.join(raw, n)) else 0
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if l.startswith("Model name")), platform.processor())
ver = subprocess.run([gradcam, "--version"], capture_output=True, text=True).stdout.strip()
peak = J("sgemm_peak.json")["gflops"]
r = lambda a, b: "%.2f" % (a / b) if b else "-"
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags]
print("Machine: %s, %d CPUs online (%s); %s threads each side; OMP_WAIT_POLICY=%s, onnxruntime allow_spinning=%d"
      % (cpu, os.cpu_count(), " ".join(isa), threads, wait, wait != "passive"))
print("Load average (1/5/15 min): %s at start, %s at end" % (l0, l1))
print("%s; torch %s; sgemm peak (dnnl_sgemm, %s threads): %.1f GFLOP/s" % (ver, J("%s.torch.json" % models.split(",")[0])["torch"], threads, peak))
print()
print("| model | GFLOP | forward ms ours | torch | ours/torch | Grad-CAM ms ours | torch | ours/torch | Grad-CAM / our forward | load ms ours (+plan) | torch | peak RSS MB ours | torch | ours/torch |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
gf = {}
for m in models.split(","):
    o, t, f = J(m + ".ours.json"), J(m + ".torch.json"), J(m + ".flops.json")["gflop"]
    ro, rt = rss("%s.ours.rss" % m), rss("%s.torch.rss" % m)
    gf[m] = (f / (o["forward_ms_median"] / 1e3), f / (min(o["forward_ms"]) / 1e3))
    print("| %s | %.2f | %.1f | %.1f | %s | %.1f | %.1f | %s | %s | %.0f (+%.0f) | %.0f | %.0f | %.0f | %s |" % (
        m, f, o["forward_ms_median"], t["forward_ms_median"], r(o["forward_ms_median"], t["forward_ms_median"]),
        o["gradcam_ms_median"], t["gradcam_ms_median"], r(o["gradcam_ms_median"], t["gradcam_ms_median"]),
        r(o["gradcam_ms_median"], o["forward_ms_median"]), o["load_ms"], o.get("plan_ms", 0), t["load_ms"],
        ro, rt, r(ro, rt)))
print()
ort = [m for m in models.split(",") if os.path.exists(os.path.join(raw, m + ".ort.json"))]
if ort:
    print("onnxruntime %s (%s intra-op threads, sequential, all graph optimisations), same input; each side the median of "
          "%d rounds' medians, the rounds taken in turn:" % (J(ort[0] + ".ort.json")["ort"], threads,
                                                            len(J(ort[0] + ".ort.json").get("forward_ms_round_medians", [0]))))
    print()
    print("| model | forward ms ours | onnxruntime | ours/ort | Grad-CAM ms ours | Grad-CAM ours / ort forward |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in ort:
        o, a = J(m + ".ours.json"), J(m + ".ort.json")
        print("| %s | %.1f | %.1f | %s | %.1f | %s |" % (m, o["forward_ms_median"], a["forward_ms_median"],
              r(o["forward_ms_median"], a["forward_ms_median"]), o["gradcam_ms_median"],
              r(o["gradcam_ms_median"], a["forward_ms_median"])))
    for m in [x for x in extra.split(",") if x and os.path.exists(os.path.join(raw, x + ".extra.ort.json"))]:
        o, a = J(m + ".extra.ours.json"), J(m + ".extra.ort.json")
        print("| %s (auto layer) | %.1f | %.1f | %s | %.1f | %s |" % (m, o["forward_ms_median"], a["forward_ms_median"],
              r(o["forward_ms_median"], a["forward_ms_median"]), o["gradcam_ms_median"],
              r(o["gradcam_ms_median"], a["forward_ms_median"])))
    print()
for m in [x for x in extra.split(",") if x and os.path.exists(os.path.join(raw, x + ".extra.profile"))]:
    rows = [l.split() for l in open(os.path.join(raw, m + ".extra.profile")) if l.startswith("  ") and "%" in l][:5]
    if rows:
        print("- %s, where our time goes (op type: share): %s" % (m, ", ".join("%s %s" % (x[0], x[2]) for x in rows)))
for m, (g, gb) in gf.items():
    print("- %s forward: %.0f GFLOP/s achieved (median run), %.0f%% of the sgemm peak; best run %.0f GFLOP/s, %.0f%%"
          % (m, g, 100 * g / peak, gb, 100 * gb / peak))
if int(nimg):
    io, it, ic = J("images.ours.json"), J("images.torch.json"), J("images.cli.json")
    print("- throughput, resnet50, %d photos (decode, preprocess, Grad-CAM, overlay PNG), model loaded once: "
          "ours %.2f img/s, torch %.2f img/s (ours/torch time %s); one `gradcam explain` process per image: %.2f img/s"
          % (io["images"], io["images"] / io["images_s"], it["images"] / it["images_s"],
             r(io["images_s"], it["images_s"]), ic["images"] / ic["images_s"]))
if cams == "1":
    for meth, name, m in (("ablationcam", "Ablation-CAM", "resnet18"), ("scorecam", "Score-CAM", "resnet18"),
                          ("ablationcam", "Ablation-CAM", "resnet50")):
        o, t = J("%s.%s.ours.json" % (meth, m)), J("%s.%s.torch.json" % (meth, m))
        if not t["gradcam_ms_median"]:
            continue
        print("- %s, %s, batch 32: ours %.0f ms, torch %.0f ms: %.1fx faster"
              % (name, m, o["gradcam_ms_median"], t["gradcam_ms_median"], t["gradcam_ms_median"] / o["gradcam_ms_median"]))
    print("- Score-CAM, resnet50, peak RSS of one `gradcam explain --method scorecam`: %.0f MB" % rss("scorecam.resnet50.ours.rss"))
    channels = {"resnet18": 512, "resnet50": 2048}  # the layer's channels: Score-CAM's masked passes
    for m in ("resnet18", "resnet50"):
        if not os.path.exists(os.path.join(raw, "ort.b1.%s.json" % m)):
            continue
        f1 = J("ort.b1.%s.json" % m)["forward_ms_median"]
        # a fixed-batch export cannot run 32 at once: then 32 single forwards are the yardstick
        f32 = J("ort.b32.%s.json" % m)["forward_ms_median"] if os.path.exists(os.path.join(raw, "ort.b32.%s.json" % m)) else 32 * f1
        gpp = J("gradcam++.%s.ours.json" % m)["gradcam_ms_median"]
        line = "- against onnxruntime, %s (forward %.1f ms, batch of 32 %.0f ms): Grad-CAM++ %.1f ms = %.2fx its forward" % (
            m, f1, f32, gpp, gpp / f1)
        for meth, name in (("ablationcam", "Ablation-CAM"), ("scorecam", "Score-CAM")):
            if os.path.exists(os.path.join(raw, "%s.%s.ours.json" % (meth, m))):
                t = J("%s.%s.ours.json" % (meth, m))["gradcam_ms_median"]
                line += "; %s %.0f ms = %.1fx its forward" % (name, t, t / f1)
                if meth == "scorecam":
                    k = channels[m]
                    line += (", %.2fx onnxruntime running its %d masked passes, 32 at a time (%d x %.0f ms)"
                             % (t / (k / 32 * f32), k, k // 32, f32))
        print(line)
if os.path.exists(os.path.join(raw, "py.gradcam.json")):
    for meth, name in (("gradcam", "Grad-CAM"), ("scorecam", "Score-CAM"), ("ablationcam", "Ablation-CAM")):
        o, t = J("py.%s.json" % meth), J("py.%s.torch.json" % meth)
        print("- Python package (`gradcam.%s`), resnet18: %.0f ms, torch (pytorch-grad-cam's definition) %.0f ms: "
              "package/torch time %s" % ({"gradcam": "GradCAM", "scorecam": "ScoreCAM", "ablationcam": "AblationCAM"}[meth],
                                          o["gradcam_ms_median"], t["gradcam_ms_median"],
                                          r(o["gradcam_ms_median"], t["gradcam_ms_median"])))
if int(nimg) and os.path.exists(os.path.join(raw, "batch.1.json")):
    b1, b8 = J("batch.1.json"), J("batch.8.json")
    s1, s8 = b1["images"] / b1["images_s"], b8["images"] / b8["images_s"]
    print("- `gradcam batch` (resnet50, %d photos, .npy maps): --batch 1 %.2f img/s (%.2f per core), --batch 8 %.2f img/s "
          "(%.2f per core): ratio %.2f (the library explains one image per call; --batch groups the phases)"
          % (b1["images"], s1, s1 / int(threads), s8, s8 / int(threads), s8 / s1))
EOF
