// Every fixture under browser/run.mjs must print what `vera run` 0.2.3
// printed (fixtures/NAME.expected.json): the same stdout, first stderr line
// and exit status, run as crates/vera-rt/tests/fixtures.rs runs them (a
// fresh temporary directory, NAME.stdin on stdin, NAME.run.json's fn and
// args, VERA_RT_FIXTURE_ENV=fixture-env-value), eager-GC builds included.
// Each fixture's Vera 0.2.5 build (NAME.v025.wasm: runtime exports prefixed
// `vera.`, maps inside the module, which browser/vera-core.wasm replaces
// with this runtime's buckets; run --as-is, its own trie, JSON objects built
// and read through its map exports) must print the same both ways (or, where the program itself behaves
// differently under 0.2.5, expected.json's "v025"); a fixture only 0.2.5 compiles
// (fixtures/V025_ONLY, its expected.json says "vera": "0.2.5") has only
// that build.
//
// SKIP names fixtures this runtime cannot run, with the reason (no family:
// every import family is provided). Those whose reason is a family the
// browser runtime does not provide must still fail to load naming a
// missing import (every build of them), so the list cannot go stale.
//
// The network fixtures fetch from scripts/fixture_server.py, started here
// as crates/vera-rt/tests/fixtures.rs starts it. DB and Inference cannot
// run in a page (no driver, no API key): as Vera's own browser runtime,
// they answer Err with its texts, so the fixtures that use them are held
// to browser/test/expected/NAME.json instead, what the CLI prints but
// with those Err texts (WRITE_BROWSER_EXPECTED=1 rewrites them from the
// 0.2.3 build; every build must print the same).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../fixtures');
const runner = path.resolve(here, '../run.mjs');

/** [prefix or exact name, reason, must fail for a missing import] */
export const SKIP = [
  ['check_uncaught_exn', "Node 20's V8 cannot compile try_table (exnref); the Playwright test runs it in Chromium", false],
  ['cli_', "vera-rt run's own command line (--json, source backtraces, Fix paragraphs, argument texts from the source), checked by crates/vera-rt/tests/fixtures.rs", false],
];

// The wide fixtures hold more heap pointers in one block than Vera 0.2.3's
// collector's mark worklist. As the CLI, this runtime makes that mark
// phase overflow-safe at load (through browser/vera-core.wasm, the same
// Rust code), so every build prints the expected output; run as compiled
// (--as-is), their 0.2.3 builds that collect must stop at the overflow.
const overflowsAsIs = (name, label) =>
  name.startsWith('wide_') && (label === 'eager-gc build' || (label === null && !name.startsWith('wide_eager_')));

// As crates/vera-rt/tests/fixtures.rs's REUSE_DEPENDENT: the last lines of
// these read a block the program no longer holds, so what they print
// depends on the allocator: compared whole with --as-is, and but for those
// lines by default.
const REUSE_DEPENDENT = { state_adt_unrooted: 1 };
const butLast = (text, lines) => {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(0, Math.max(0, all.length - lines)).map((l) => `${l}\n`).join('');
};

/** Fixtures using DB or Inference: browser/test/expected/NAME.json. */
const BROWSER_EXPECTED = ['db_', 'app_db_json', 'app_fetch_html', 'inference_'];
const browserExpected = (name) => BROWSER_EXPECTED.some((p) => name === p || (p.endsWith('_') && name.startsWith(p)));
const expectedDir = path.resolve(here, 'expected');

/** The fixture server's addresses, as VERA_RT_FIXTURE_HTTP and _CLOSED. */
let serverEnv = {};
let server = null;
async function startFixtureServer() {
  server = spawn('python3', [path.resolve(here, '../../scripts/fixture_server.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let text = '';
    server.stdout.on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    server.on('error', reject);
    server.on('exit', (code) => reject(new Error(`fixture server exited with ${code}`)));
  });
  const [port, closed] = line.trim().split(/\s+/);
  serverEnv = { VERA_RT_FIXTURE_HTTP: `http://127.0.0.1:${port}`, VERA_RT_FIXTURE_CLOSED: `http://127.0.0.1:${closed}` };
}

const skipOf = (name) => SKIP.find(([p]) => name === p || (p.endsWith('_') && name.startsWith(p)));

function runFixture(stem, wasm, flags = []) {
  const spec = fs.existsSync(`${stem}.run.json`) ? JSON.parse(fs.readFileSync(`${stem}.run.json`, 'utf8')) : {};
  const args = [runner, wasm, ...flags];
  if (spec.fn) args.push('--fn', spec.fn);
  if (spec.args) args.push('--', ...spec.args);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'vera-browser-'));
  const stdinFile = `${stem}.stdin`;
  const stdin = fs.existsSync(stdinFile) ? fs.openSync(stdinFile, 'r') : 'ignore';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd, stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, ...serverEnv, VERA_RT_FIXTURE_ENV: 'fixture-env-value' },
    });
    const out = [], err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('close', (code) => {
      if (typeof stdin === 'number') fs.closeSync(stdin);
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code });
    });
  });
}

function compare(got, want) {
  const problems = [];
  if (got.stdout !== want.stdout) problems.push(`stdout:\n--- want\n${want.stdout}\n--- got\n${got.stdout}`);
  const first = got.stderr.split('\n')[0];
  if (first !== want.stderr_first_line) problems.push(`stderr first line: want ${JSON.stringify(want.stderr_first_line)}, got ${JSON.stringify(first)}`);
  if (got.code !== want.exit_code) problems.push(`exit: want ${want.exit_code}, got ${got.code}`);
  return problems;
}

/** The builds of a fixture that exist: [file, label]; the 0.2.3 build first. */
function builds(stem, want) {
  const all = [
    [`${stem}.wasm`, null],
    [`${stem}.eager-gc.wasm`, 'eager-gc build'],
    [`${stem}.v025.wasm`, 'Vera 0.2.5 build'],
    [`${stem}.v025.eager-gc.wasm`, 'Vera 0.2.5 eager-gc build'],
  ];
  return all.filter(([file]) => fs.existsSync(file) || (file === `${stem}.wasm` && want.vera !== '0.2.5'));
}

async function check(name) {
  const stem = path.join(fixtures, name);
  let want = JSON.parse(fs.readFileSync(`${stem}.expected.json`, 'utf8'));
  const skip = skipOf(name);
  const browserFile = path.join(expectedDir, `${name}.json`);
  if (browserExpected(name)) {
    if (process.env.WRITE_BROWSER_EXPECTED) {
      const got = await runFixture(stem, `${stem}.wasm`);
      const record = { stdout: got.stdout, stderr_first_line: got.stderr.split('\n')[0], exit_code: got.code };
      fs.mkdirSync(expectedDir, { recursive: true });
      fs.writeFileSync(browserFile, `${JSON.stringify(record, null, 2)}\n`);
    }
    want = JSON.parse(fs.readFileSync(browserFile, 'utf8'));
  }
  const problems = [];
  for (const [file, label] of builds(stem, want)) {
    const got = await runFixture(stem, file);
    const tag = (p) => (label ? `[${label}] ${p}` : p);
    if (skip) {
      if (skip[2] && !(got.code === 1 && got.stderr.split('\n')[0].includes('does not provide'))) {
        problems.push(tag(`skipped (${skip[1]}) but did not fail for a missing import: ${got.stderr.split('\n')[0]}`));
      }
      continue;
    }
    if (overflowsAsIs(name, label)) {
      const asIs = await runFixture(stem, file, ['--as-is']);
      if (!(asIs.code === 1 && asIs.stderr.split('\n')[0] === 'Error: Reached `unreachable` WASM instruction')) {
        problems.push(tag(`[--as-is] expected the 0.2.3 collector's worklist overflow, got exit ${asIs.code}: ${asIs.stderr.split('\n')[0]}`));
      }
    }
    // Where the program itself behaves differently under 0.2.5 (`"v025"`
    // in its correction), what `vera run` 0.2.5 printed.
    const expected = label && label.startsWith('Vera 0.2.5') && want.v025 ? { ...want, ...want.v025 } : want;
    const dependent = REUSE_DEPENDENT[name];
    if (dependent) {
      const asIs = await runFixture(stem, file, ['--as-is']);
      problems.push(...compare(asIs, expected).map((p) => tag(`[--as-is] ${p}`)));
      problems.push(...compare({ ...got, stdout: butLast(got.stdout, dependent) },
        { ...expected, stdout: butLast(expected.stdout, dependent) }).map(tag));
    } else {
      problems.push(...compare(got, expected).map(tag));
      // A 0.2.5 build as compiled: its own hash trie, JSON objects built
      // and read through its map exports.
      if (label === 'Vera 0.2.5 build') {
        const asIs = await runFixture(stem, file, ['--as-is']);
        problems.push(...compare(asIs, expected).map((p) => tag(`[--as-is] ${p}`)));
      }
    }
  }
  return problems.length ? [`${name}: ${problems.join('\n')}`] : [];
}

const only = process.env.FIXTURES ? process.env.FIXTURES.split(',') : null;
const names = fs.readdirSync(fixtures).filter((f) => f.endsWith('.vera')).map((f) => f.slice(0, -5))
  .filter((n) => !only || only.includes(n)).sort();

test('every fixture matches vera run under browser/run.mjs', async (t) => {
  assert.ok(names.length >= 1, 'no fixtures found');
  await startFixtureServer();
  t.after(() => server.stdin.end());
  const failures = [];
  const queue = [...names];
  const workers = Math.max(2, Math.min(4, os.availableParallelism ? os.availableParallelism() : 2));
  await Promise.all(Array.from({ length: workers }, async () => {
    while (queue.length) failures.push(...await check(queue.shift()));
  }));
  const failing = failures.map((f) => f.split(':')[0]).join(', ');
  assert.equal(failures.length, 0, `${failures.length} fixture(s) differ: ${failing}\n\n${failures.join('\n\n')}`);
});
