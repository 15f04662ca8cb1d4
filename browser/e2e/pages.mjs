// The browser test: `vera-rt bundle` pages for several fixtures, served on
// 127.0.0.1 and opened in Chromium (Debian's /usr/bin/chromium, driven by
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
// Env: VERA_RT (the binary), CHROMIUM (the browser executable).

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

/** Fixtures whose output does not depend on the process (env, files, time). */
const PAGES = [
  'map_chain_10k', 'json_roundtrip', 'json_errors', 'set_chain_10k', 'map_string_keys', 'map_persistence',
  'state_int', 'io_args', 'io_read_line', 'io_exit', 'check_div_zero', 'check_requires', 'check_uncaught_exn',
  'io_return_float_third', 'decimal_basic', 'wide_map_string_keys', 'wide_json_object',
  // regex, Markdown and HTML: computed by browser/vera-core.wasm, the CLI's Rust.
  'regex_match_find', 'regex_errors', 'regex_find_all', 'regex_replace', 'regex_replace_bad_group',
  'md_parse_render', 'md_queries', 'md_structure',
  'html_query', 'html_query_descendant', 'html_serialize', 'html_tree', 'app_json_page',
  // Http and async(Http), against the fixture server.
  'http_get', 'http_post', 'http_bad_urls', 'http_bad_ipv6', 'async_http', 'async_eager', 'async_unawaited',
  'async_bad_ipv6', 'app_fetch_json', 'app_fetch_html',
  // DB and Inference: Vera's browser runtime's Err texts.
  'db_basic', 'db_errors', 'app_db_json', 'inference_unconfigured',
];

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
const PAGES_V025 = ['io_print_unicode', 'map_persistence', 'map_string_keys', 'json_roundtrip', 'json_errors',
  'html_tree', 'md_structure', 'regex_replace'];

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
const NETWORK_ENV = [`VERA_RT_FIXTURE_HTTP=http://127.0.0.1:${httpPort}`, `VERA_RT_FIXTURE_CLOSED=http://127.0.0.1:${closedPort}`];

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'vera-pages-'));
const ENTRIES = [...PAGES, ...REFUSED, ...PAGES_V025.map((n) => `${n}.v025`)];
for (const entry of ENTRIES) {
  const name = entry.replace(/\.v025$/, '');
  const stem = path.join(fixtures, name);
  const spec = fs.existsSync(`${stem}.run.json`) ? JSON.parse(fs.readFileSync(`${stem}.run.json`, 'utf8')) : {};
  const args = ['bundle', entry === name ? `${stem}.wasm` : `${stem}.v025.wasm`, '-o', path.join(out, entry)];
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
    for (const [cli, browser] of BROWSER_LINES[name] || []) want.stdout = want.stdout.replace(cli, browser);
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
