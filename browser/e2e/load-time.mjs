// How long a bundled page takes to load and run in Chromium: serves a
// `vera-rt bundle` directory on 127.0.0.1 and opens its index.html RUNS
// times in headless Chromium (a new page, cache disabled, each time),
// printing the median time from navigation to `data-status="done"` and
// the bytes the page fetched (each file as served, and gzipped).
//
//   node browser/e2e/load-time.mjs DIR [RUNS]
// Env: CHROMIUM (the browser executable).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

const dir = path.resolve(process.argv[2] || '.');
const runs = Number(process.argv[3] || 10);
const MIME = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const server = http.createServer((req, res) => {
  const file = path.join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vera-load-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const start = performance.now();
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForSelector('body[data-status="done"]', { timeout: 60000 });
    times.push(performance.now() - start);
    await page.close();
  }
} finally {
  await context.close();
  server.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
let raw = 0, gz = 0;
for (const f of fs.readdirSync(dir)) {
  const bytes = fs.readFileSync(path.join(dir, f));
  const z = zlib.gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += z;
  console.log(`${f}: ${bytes.length} bytes, ${z} gzipped`);
}
console.log(`page: ${raw} bytes, ${gz} gzipped`);
console.log(`load and run (median of ${runs}): ${times[times.length >> 1].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)})`);
