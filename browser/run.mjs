#!/usr/bin/env node
// node browser/run.mjs FILE.wasm [--fn NAME] [--as-is] [-- ARGS...]
//
// Runs a Vera 0.2.3 (or 0.2.5) module on browser/runtime.mjs under Node and prints
// exactly what `vera-rt run` prints, exiting the same way. Node supplies
// what a page cannot: the process's stdin, environment and files. The module
// is rewritten at load as the CLI does (browser/vera-core.wasm), unless
// --as-is.

import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadCore, runModule } from './runtime.mjs';

function usage(message) {
  process.stderr.write(`error: ${message}\nusage: node browser/run.mjs FILE.wasm [--fn NAME] [--as-is] [-- ARGS...]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let file = null;
let fn = null;
let args = [];
let asIs = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') { args = argv.slice(i + 1); break; }
  if (a === '--fn') { fn = argv[++i]; if (fn === undefined) usage('--fn needs a NAME'); }
  else if (a.startsWith('--fn=')) fn = a.slice(5);
  else if (a === '--as-is') asIs = true;
  else if (file === null && !a.startsWith('-')) file = a;
  else usage(`unexpected argument '${a}'`);
}
if (file === null) usage('a FILE.wasm is required');

// Linux strerror texts, as Python words an OSError.
const STRERROR = {
  ENOENT: [2, 'No such file or directory'], EACCES: [13, 'Permission denied'], EISDIR: [21, 'Is a directory'],
  ENOTDIR: [20, 'Not a directory'], EEXIST: [17, 'File exists'], EROFS: [30, 'Read-only file system'],
  ENAMETOOLONG: [36, 'File name too long'], ENOSPC: [28, 'No space left on device'], EPERM: [1, 'Operation not permitted'],
};

function pythonRepr(s) {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  return q + s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
    .replaceAll(q, '\\' + q) + q;
}

function osError(e, path) {
  const known = STRERROR[e.code];
  if (!known) return e.message;
  return `[Errno ${known[0]}] ${known[1]}: ${pythonRepr(path)}`;
}

function stdinChunk() {
  const buf = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = fs.readSync(0, buf, 0, buf.length, null);
      return n === 0 ? null : new Uint8Array(buf.subarray(0, n));
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EOF') return null;
      throw e;
    }
  }
}

// Http for the runtime: Node has no synchronous request, so each one is a
// child process running fetch, which reports the response as it came
// (redirects not followed: the runtime follows them as urllib does) or
// the failure as Python's socket words it.
const FETCH_CHILD = `
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const ERRNO = { ECONNREFUSED: '[Errno 111] Connection refused', ECONNRESET: '[Errno 104] Connection reset by peer',
  EHOSTUNREACH: '[Errno 113] No route to host', ENETUNREACH: '[Errno 101] Network is unreachable',
  ENOTFOUND: '[Errno -2] Name or service not known', EAI_AGAIN: '[Errno -3] Temporary failure in name resolution',
  ETIMEDOUT: 'timed out', UND_ERR_CONNECT_TIMEOUT: 'timed out' };
(async () => {
  let out;
  try {
    const r = await fetch(input.url, { method: input.method, body: input.body ?? undefined, redirect: 'manual',
      headers: input.method === 'POST' ? { 'content-type': 'application/json' } : {},
      signal: AbortSignal.timeout(60000) });
    const body = Buffer.from(await r.arrayBuffer());
    out = { status: r.status, location: r.headers.get('location'), body: body.toString('base64') };
  } catch (e) {
    const cause = e.cause || e;
    const code = cause.code || (cause.errors && cause.errors[0] && cause.errors[0].code) || e.name;
    out = { error: ERRNO[code] || (e.name === 'TimeoutError' ? 'timed out' : String(cause.message || e.message)) };
  }
  process.stdout.write(JSON.stringify(out));
})();
`;
function http(method, url, body) {
  const child = spawnSync(process.execPath, ['-e', FETCH_CHILD], {
    input: JSON.stringify({ method, url, body }), maxBuffer: 1 << 30,
  });
  if (child.status !== 0) return { error: `fetch failed: ${child.stderr.toString().trim()}` };
  const r = JSON.parse(child.stdout.toString());
  return r.error !== undefined ? r : { status: r.status, location: r.location, body: new Uint8Array(Buffer.from(r.body, 'base64')) };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const write = (fd) => (text) => { fs.writeSync(fd, text); };

let bytes;
try {
  bytes = fs.readFileSync(file);
} catch (e) {
  const known = STRERROR[e.code];
  const reason = known ? `${known[1]} (os error ${known[0]})` : e.message;
  process.stderr.write(`Error: cannot read ${file}: ${reason}\n`);
  process.exit(1);
}
// The core computes regex, Markdown and HTML whether or not it rewrites the
// module (--as-is runs the module as compiled).
const core = await loadCore(fs.readFileSync(new URL('./vera-core.wasm', import.meta.url)));
const code = await runModule(new Uint8Array(bytes), {
  fn,
  args,
  core,
  asIs,
  stdout: write(1),
  stderr: write(2),
  stdin: stdinChunk,
  env: process.env,
  readFile: (path) => {
    try { return new Uint8Array(fs.readFileSync(path)); } catch (e) { throw new Error(osError(e, path)); }
  },
  writeFile: (path, text) => {
    try { fs.writeFileSync(path, text); } catch (e) { throw new Error(osError(e, path)); }
  },
  sleep: (ms) => { Atomics.wait(sleeper, 0, 0, ms); },
  http,
}, file);
process.exitCode = code;
