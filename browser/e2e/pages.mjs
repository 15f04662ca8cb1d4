// The browser test: a `vera-rt bundle` page for every fixture but those in
// NOT_PAGES (files; the CLI's own command line), served on 127.0.0.1 and
// opened in Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core); each page's #stdout, first #stderr line and #exit-code
// must be what `vera run` 0.2.3 printed (fixtures/NAME.expected.json).
// A few pages run the fixture's Vera 0.2.5 build (NAME.v025.wasm: exports
// prefixed `vera.`, maps inside the module, hash_key) instead. The network
// fixtures fetch from scripts/fixture_server.py (its addresses given to the
// page with `vera-rt bundle --env`) by synchronous XMLHttpRequest; the DB
// and Inference fixtures are held to browser/test/expected/NAME.json, as
// under Node (those families answer Err in a browser).
//
//   node browser/e2e/pages.mjs            (needs target/release/vera-rt)
// Env: VERA_RT (the binary), CHROMIUM (the browser executable), PAGES (a
// comma-separated list of fixtures: only those, and no 0.2.5 pages).

import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'fixtures');
const veraRt = process.env.VERA_RT || path.join(root, 'target/release/vera-rt');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Fixtures no page can run as the CLI does, with the reason: every other
 * fixture (0.2.3 build; a 0.2.5-only one's 0.2.5 build) is a page.
 */
const NOT_PAGES = [
  ['cli_', "vera-rt run's own command line (checked by crates/vera-rt/tests/fixtures.rs)"],
  ['app_wordfreq', 'files: a page has none (read_file answers Err)'],
  ['io_bytes_errors', 'files: a page has none (read_bytes answers Err)'],
  ['io_bytes_roundtrip', 'files: a page has none (read_bytes answers Err)'],
  ['io_file_missing', 'files: a page has none (read_file answers Err)'],
  ['io_file_missing_message', 'files: a page has none (read_file answers Err)'],
  ['io_file_roundtrip', 'files: a page has none (write_file answers Err)'],
  ['json_file_invalid_utf8', 'files: a page has none (write_bytes answers Err)'],
];
const notPage = (name) => NOT_PAGES.find(([p]) => name === p || (p.endsWith('_') && name.startsWith(p)));
const V025_ONLY = fs.readFileSync(path.join(fixtures, 'V025_ONLY'), 'utf8').split('\n')
  .map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
const PAGES = (process.env.PAGES ? process.env.PAGES.split(',') : fs.readdirSync(fixtures)
  .filter((f) => f.endsWith('.vera')).map((f) => f.slice(0, -5)).sort()).filter((n) => !notPage(n));

/** As crates/vera-rt/tests/fixtures.rs's REUSE_DEPENDENT: the last lines depend on the allocator. */
const REUSE_DEPENDENT = { state_adt_unrooted: 1 };
const butLast = (text, lines) => {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(0, Math.max(0, all.length - lines)).map((l) => `${l}\n`).join('');
};

/** Pages held to browser/test/expected/NAME.json (DB, Inference). */
const BROWSER_EXPECTED = ['db_basic', 'db_errors', 'app_db_json', 'inference_unconfigured', 'app_fetch_html'];

/**
 * Where a browser cannot do what urllib does, the line it prints instead:
 * XMLHttpRequest follows every redirect itself, so a POST answered 307 is
 * sent again to the new address, where urllib reports the status.
 */
const BROWSER_LINES = {
  http_post: [['307 (not followed): Err [HTTP Error 307: Temporary Redirect]',
    '307 (not followed): Ok [{"content_type": "application/json", "body": "{\\"a\\": 1}"}]']],
};

/** Pages of the Vera 0.2.5 build (NAME.v025.wasm), the same expected output. */
const PAGES_V025 = process.env.PAGES ? [] : ['io_print_unicode', 'map_persistence', 'map_string_keys', 'json_roundtrip',
  'json_errors', 'html_tree', 'md_structure', 'regex_replace'];

/** Bundled without --stdin: the page asks with prompt(); the test answers with NAME.stdin's lines. */
const PROMPTED = ['io_read_line'];

/** Fixtures using a family the browser runtime lacks: the page must say which imports. */
const REFUSED = [];

const MIME = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

function serve(dir) {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// The fixture server, as crates/vera-rt/tests/fixtures.rs starts it.
const fixtureServer = spawn('python3', [path.join(root, 'scripts/fixture_server.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
const [httpPort, closedPort] = (await new Promise((resolve) => {
  let text = '';
  fixtureServer.stdout.on('data', (d) => { text += d; if (text.includes('\n')) resolve(text.split('\n')[0]); });
})).trim().split(/\s+/);
const NETWORK_ENV = [`VERA_RT_FIXTURE_HTTP=http://127.0.0.1:${httpPort}`, `VERA_RT_FIXTURE_CLOSED=http://127.0.0.1:${closedPort}`,
  'VERA_RT_FIXTURE_ENV=fixture-env-value'];

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'vera-pages-'));
const ENTRIES = [...PAGES, ...REFUSED, ...PAGES_V025.map((n) => `${n}.v025`)];
for (const entry of ENTRIES) {
  const name = entry.replace(/\.v025$/, '');
  const stem = path.join(fixtures, name);
  const spec = fs.existsSync(`${stem}.run.json`) ? JSON.parse(fs.readFileSync(`${stem}.run.json`, 'utf8')) : {};
  const build = entry === name && !V025_ONLY.includes(name) ? `${stem}.wasm` : `${stem}.v025.wasm`;
  const args = ['bundle', build, '-o', path.join(out, entry)];
  if (spec.fn) args.push('--fn', spec.fn);
  if (fs.existsSync(`${stem}.stdin`)) args.push('--stdin', `${stem}.stdin`);
  for (const pair of NETWORK_ENV) args.push('--env', pair);
  if (spec.args) args.push('--', ...spec.args);
  execFileSync(veraRt, args, { stdio: 'inherit' });
}
for (const name of PROMPTED) {
  execFileSync(veraRt, ['bundle', path.join(fixtures, `${name}.wasm`), '-o', path.join(out, `${name}.prompt`)], { stdio: 'inherit' });
}

const server = await serve(out);
const { port } = server.address();
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vera-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const failures = [];
try {
  for (const entry of [...ENTRIES, ...PROMPTED.map((n) => `${n}.prompt`)]) {
    const name = entry.replace(/\.(prompt|v025)$/, '');
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    if (entry === `${name}.prompt`) {
      const lines = fs.readFileSync(path.join(fixtures, `${name}.stdin`), 'utf8').replace(/\n$/, '').split('\n');
      page.on('dialog', (d) => (lines.length ? d.accept(lines.shift()) : d.dismiss()));
    }
    await page.goto(`http://127.0.0.1:${port}/${entry}/index.html`);
    await page.waitForSelector('body[data-status="done"]', { timeout: 120000 });
    const got = await page.evaluate(() => ({
      stdout: document.getElementById('stdout').textContent,
      stderr: document.getElementById('stderr').textContent,
      code: Number(document.getElementById('exit-code').textContent),
    }));
    await page.close();
    const problems = [...pageErrors.map((e) => `page error: ${e}`)];
    if (REFUSED.includes(name)) {
      const first = got.stderr.split('\n')[0];
      if (!(got.code === 1 && /does not provide: .*vera\.regex_/.test(first))) {
        problems.push(`expected a refusal naming the regex imports, got exit ${got.code}: ${first}`);
      }
      console.log(`${problems.length ? 'FAIL' : 'ok  '} ${entry} (refused: ${first})`);
      if (problems.length) failures.push(`${name}: ${problems.join('\n')}`);
      continue;
    }
    const want = JSON.parse(fs.readFileSync(BROWSER_EXPECTED.includes(name)
      ? path.join(root, 'browser/test/expected', `${name}.json`)
      : path.join(fixtures, `${name}.expected.json`), 'utf8'));
    if (entry.endsWith('.v025') && want.v025) Object.assign(want, want.v025);
    for (const [cli, browser] of BROWSER_LINES[name] || []) want.stdout = want.stdout.replace(cli, browser);
    if (REUSE_DEPENDENT[name]) {
      got.stdout = butLast(got.stdout, REUSE_DEPENDENT[name]);
      want.stdout = butLast(want.stdout, REUSE_DEPENDENT[name]);
    }
    if (got.stdout !== want.stdout) problems.push(`stdout:\n--- want\n${want.stdout}\n--- got\n${got.stdout}`);
    const first = got.stderr.split('\n')[0];
    if (first !== want.stderr_first_line) problems.push(`stderr first line: want ${JSON.stringify(want.stderr_first_line)}, got ${JSON.stringify(first)}`);
    if (got.code !== want.exit_code) problems.push(`exit: want ${want.exit_code}, got ${got.code}`);
    console.log(`${problems.length ? 'FAIL' : 'ok  '} ${entry}`);
    if (problems.length) failures.push(`${entry}: ${problems.join('\n')}`);
  }
} finally {
  await context.close();
  server.close();
  fixtureServer.stdin.end();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`\n${failures.length} page(s) differ:\n\n${failures.join('\n\n')}`);
  process.exit(1);
}
console.log(`all ${ENTRIES.length + PROMPTED.length} pages as expected`);
