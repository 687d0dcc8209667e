#!/usr/bin/env node
// ort_run.js - onnxruntime as a second forward oracle: runs an ONNX model on
// .npy inputs and writes every graph output as .npy in its own dtype.
//
//   node tools/ort_run.js --ort DIR/node_modules --model M.onnx --out OUTDIR \
//        [--input NAME=X.npy ...]
//
// OUTDIR/outputs.json lists {name, file, dtype, shape} per graph output, in
// graph order; files are OUTDIR/out<k>.npy.  Exit status 1 with one line on
// stderr on any failure.  onnxruntime-node comes from tools/ort_setup.sh.
'use strict';
const fs = require('fs');
const path = require('path');

// numpy descr (byte order stripped) <-> onnxruntime tensor type
const DTYPES = {
  f4: ['float32', Float32Array], f8: ['float64', Float64Array], i8: ['int64', BigInt64Array],
  i4: ['int32', Int32Array], i1: ['int8', Int8Array], u1: ['uint8', Uint8Array], b1: ['bool', Uint8Array],
};

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hoff = major === 1 ? 10 : 12;
  const hdr = b.toString('latin1', hoff, hoff + hlen);
  const descr = /'descr':\s*'([<|=]?)(\w\d)'/.exec(hdr);
  if (!descr || !DTYPES[descr[2]]) throw new Error(`${file}: unsupported dtype in ${hdr.trim()}`);
  if (/'fortran_order':\s*True/.test(hdr)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(hdr)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const [type, Arr] = DTYPES[descr[2]];
  const n = shape.reduce((a, v) => a * v, 1);
  const raw = b.subarray(hoff + hlen, hoff + hlen + n * Arr.BYTES_PER_ELEMENT);
  const data = new Arr(n);
  new Uint8Array(data.buffer).set(raw);
  return { type, data: type === 'bool' ? Uint8Array.from(data, v => v !== 0) : data, shape };
}

function writeNpy(file, type, data, shape) {
  const entry = Object.entries(DTYPES).find(([, v]) => v[0] === type);
  if (!entry) throw new Error(`output type ${type} cannot be written`);
  const code = entry[0], size = entry[1][1].BYTES_PER_ELEMENT;
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let h = `{'descr': '${size === 1 ? '|' : '<'}${code}', 'fortran_order': False, 'shape': ${shp}, }`;
  const total = 10 + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  let bytes = type === 'bool' ? Uint8Array.from(data, v => (v ? 1 : 0)) : data;
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(h, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
}

async function main() {
  const a = process.argv.slice(2);
  const opt = { input: [] };
  for (let i = 0; i < a.length; i++) {
    const k = a[i].replace(/^--/, '');
    if (!['ort', 'model', 'out', 'input', 'threads'].includes(k) || i + 1 >= a.length) throw new Error(`bad option ${a[i]}`);
    if (k === 'input') opt.input.push(a[++i]); else opt[k] = a[++i];
  }
  if (!opt.ort || !opt.model || !opt.out) throw new Error('usage: ort_run.js --ort DIR --model M.onnx --out DIR [--input NAME=X.npy ...]');
  const ort = require(path.resolve(opt.ort, 'onnxruntime-node'));
  const threads = Number(opt.threads || 2);
  const sess = await ort.InferenceSession.create(opt.model, { intraOpNumThreads: threads, interOpNumThreads: 1,
                                                              graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
  const feeds = {};
  for (const spec of opt.input) {
    const eq = spec.indexOf('=');
    const t = readNpy(spec.slice(eq + 1));
    feeds[spec.slice(0, eq)] = new ort.Tensor(t.type, t.data, t.shape);
  }
  const res = await sess.run(feeds);
  fs.mkdirSync(opt.out, { recursive: true });
  const list = sess.outputNames.map((name, k) => {
    const t = res[name], file = path.join(opt.out, `out${k}.npy`);
    writeNpy(file, t.type, t.data, t.dims.map(Number));
    return { name, file, dtype: t.type, shape: t.dims.map(Number) };
  });
  fs.writeFileSync(path.join(opt.out, 'outputs.json'), JSON.stringify(list, null, 1));
}

main().catch(e => { process.stderr.write(`ort_run: ${String(e.message || e).split('\n')[0]}\n`); process.exit(1); });
