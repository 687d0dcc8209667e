#!/usr/bin/env node
// ort_bench.js - onnxruntime's forward time on the same model and input as
// gcam_bench, for `make bench` (bench/run_bench.sh).
//
//   node bench/ort_bench.js --ort NODE_MODULES --model M.onnx --input X.npy \
//        [--threads 2] [--warmup 3] [--repeat 10] [--spin 1|0] [--batch N] [--profile PREFIX]
//
// --profile PREFIX writes onnxruntime's own per-node trace of the timed runs
// (PREFIX_<date>.json, Chrome trace format) and adds its path to the JSON as
// "profile"; bench/ort_profile.py sums it per op type, the counterpart of
// `gradcam classify --profile`.
// --batch N stacks N copies of the input along dim 0 (a model with a
// dynamic batch): the yardstick for Score-CAM's masked passes.
// Session: intra-op threads as given, one inter-op thread, sequential
// execution, every graph optimisation (onnxruntime's defaults for a CPU
// server).  --spin 0 stops the intra-op threads from spinning while they
// wait (session.intra_op.allow_spinning = 0), the match of our side's
// OMP_WAIT_POLICY=passive; onnxruntime's default spins, like active.  Prints JSON: forward_ms (each timed run), forward_ms_median,
// load_ms, the onnxruntime version.  The input is float32 and feeds the
// model's first input.
'use strict';
const fs = require('fs');
const path = require('path');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function readF32Npy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const hlen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hoff = b[6] === 1 ? 10 : 12;
  const hdr = b.toString('latin1', hoff, hoff + hlen);
  if (!/'descr':\s*'<f4'/.test(hdr)) throw new Error(`${file}: float32 input expected, header ${hdr.trim()}`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(hdr)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const n = shape.reduce((a, v) => a * v, 1);
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(b.subarray(hoff + hlen, hoff + hlen + 4 * n));
  return { data, shape };
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); const k = s.length >> 1; return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2; };

async function main() {
  const ortDir = arg('--ort'), model = arg('--model'), input = arg('--input');
  if (!ortDir || !model || !input) throw new Error('usage: ort_bench.js --ort DIR --model M.onnx --input X.npy');
  const threads = +arg('--threads', 2), warmup = +arg('--warmup', 3), repeat = +arg('--repeat', 10);
  const spin = arg('--spin', '1') === '0' ? '0' : '1';
  const batch = +arg('--batch', 1);
  const profile = arg('--profile', '');
  const ort = require(path.join(path.resolve(ortDir), 'onnxruntime-node'));
  const t0 = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spin } } },
    ...(profile ? { enableProfiling: true, profileFilePrefix: profile } : {}),
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  let x = readF32Npy(input);
  if (batch > 1) {
    const data = new Float32Array(x.data.length * batch);
    for (let i = 0; i < batch; i++) data.set(x.data, i * x.data.length);
    x = { data, shape: [x.shape[0] * batch, ...x.shape.slice(1)] };
  }
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
  for (let i = 0; i < warmup; i++) await sess.run(feeds);
  if (profile) sess.startProfiling(); /* a no-op where it already runs; the warm-up runs stay in the trace */
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t = process.hrtime.bigint();
    await sess.run(feeds);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const trace = profile ? sess.endProfiling() : undefined;
  const pkg = JSON.parse(fs.readFileSync(path.join(path.resolve(ortDir), 'onnxruntime-node', 'package.json')));
  console.log(JSON.stringify({ ort: pkg.version, threads, spin: +spin, batch, forward_ms: times, forward_ms_median: median(times), load_ms: loadMs, profile: trace }));
}

main().catch(e => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
