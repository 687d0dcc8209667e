#!/usr/bin/env node
// browser_check.js - opens an HTML page in headless Chromium through the
// DevTools protocol (over --remote-debugging-pipe: no port, no npm package)
// and checks that it loads with no console error or uncaught exception and
// that every <img> decoded (complete and naturalWidth > 0).  Optionally
// saves a screenshot.  Prints one line per check; exits 0 only if all pass.
//
//   node browser_check.js PAGE.html [--screenshot OUT.png] [--clip-height H] [--scale S]
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const args = process.argv.slice(2);
const page = args[0];
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const shot = opt('--screenshot', null);
const clipHeight = Number(opt('--clip-height', '0'));
const scale = Number(opt('--scale', '1'));
const browser = process.env.CHROMIUM || '/usr/bin/chromium';
if (!page || !fs.existsSync(page)) { console.log(`FAIL no page ${page}`); process.exit(2); }

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gcam-chromium-'));
const chrome = spawn(browser, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
  '--remote-debugging-pipe', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
chrome.stderr.on('data', d => { stderr += d; });
const toChrome = chrome.stdio[3], fromChrome = chrome.stdio[4];

let nextId = 1, buf = '';
const pending = new Map(), listeners = [];
fromChrome.on('data', d => {
  buf += d.toString('utf8');
  let z;
  while ((z = buf.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buf.slice(0, z));
    buf = buf.slice(z + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result);
    } else listeners.forEach(l => l(msg));
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  toChrome.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function waitFor(pred, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out')), ms);
    listeners.push(m => { if (pred(m)) { clearTimeout(t); resolve(m); } });
  });
}

async function main() {
  const errors = [];
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  listeners.push(m => {
    if (m.sessionId !== sessionId) return;
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert'))
      errors.push('console.' + m.params.type + ': ' + m.params.args.map(a => a.value ?? a.description).join(' '));
    if (m.method === 'Runtime.exceptionThrown') errors.push('exception: ' + m.params.exceptionDetails.text +
      ' ' + (m.params.exceptionDetails.exception?.description ?? ''));
    if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error')
      errors.push('log: ' + m.params.entry.text + ' ' + (m.params.entry.url ?? ''));
  });
  for (const d of ['Page.enable', 'Runtime.enable', 'Log.enable']) await send(d, {}, sessionId);
  await send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
  const loaded = waitFor(m => m.sessionId === sessionId && m.method === 'Page.loadEventFired', 60000);
  await send('Page.navigate', { url: 'file://' + path.resolve(page) }, sessionId);
  await loaded;
  const expr = `Promise.all([...document.images].map(i => i.decode().then(() => 1, () => 0))).then(() =>
    JSON.stringify([...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, alt: i.alt}))))`;
  const r = await send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true }, sessionId);
  const imgs = JSON.parse(r.result.value);
  await new Promise(res => setTimeout(res, 300)); // late console messages
  let fail = 0;
  const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) fail++; };
  check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.slice(0, 5).join(' | ') : ''}`);
  const bad = imgs.filter(i => !i.ok);
  check(imgs.length > 0 && bad.length === 0,
    `${imgs.length - bad.length}/${imgs.length} images decoded${bad.length ? ' (not: ' + bad.slice(0, 3).map(i => i.alt).join('; ') + ')' : ''}`);
  const small = imgs.filter(i => i.ok && i.w < 224);
  check(small.length === 0, `every image at least 224 px wide${small.length ? ' (' + small.length + ' narrower)' : ''}`);
  const noalt = imgs.filter(i => !i.alt);
  check(noalt.length === 0, 'every image has alt text');
  if (shot) {
    const clip = clipHeight > 0 ? { x: 0, y: 0, width: 1280, height: clipHeight, scale } : undefined;
    const s = await send('Page.captureScreenshot', { format: 'png', clip, captureBeyondViewport: !!clip }, sessionId);
    fs.writeFileSync(shot, Buffer.from(s.data, 'base64'));
    check(fs.statSync(shot).size > 1000, `screenshot ${shot}`);
  }
  return fail;
}

main().then(fail => finish(fail ? 1 : 0), e => { console.log('FAIL ' + e.message + '\n' + stderr.slice(-2000)); finish(2); });
function finish(code) {
  try { toChrome.write(JSON.stringify({ id: nextId++, method: 'Browser.close' }) + '\0'); } catch (e) { /* gone */ }
  const t = setTimeout(() => chrome.kill('SIGKILL'), 3000);
  chrome.on('exit', () => { clearTimeout(t); fs.rmSync(profile, { recursive: true, force: true }); process.exit(code); });
}
