// The Rust host's unit vectors (families/io.rs, the collection import
// names), checked on runtime.mjs. repr(float), Decimal and json_parse are
// the core's (crates/vera-browser-core, whose tests hold their vectors),
// not ports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectionImport, pythonPath } from '../runtime.mjs';

test('Map/Set import names decode to their tags', () => {
  assert.deepEqual(parseCollectionImport('map_insert$ks_vi'), { kind: 'Map', op: 'insert', k: 's', v: 'i' });
  assert.deepEqual(parseCollectionImport('set_to_array$eb'), { kind: 'Set', op: 'keys', k: 'b', v: 'b' });
  assert.deepEqual(parseCollectionImport('map_values$vf'), { kind: 'Map', op: 'values', k: null, v: 'f' });
  for (const bad of ['map_insert$kx_vi', 'map_contains$ki_vi', 'map_new$ki', 'map_get$ki']) {
    assert.equal(parseCollectionImport(bad), null, bad);
  }
});

test('the API runs a module and captures its output', async () => {
  const { load, finish } = await import('../runtime.mjs');
  const fs = await import('node:fs');
  const bytes = fs.readFileSync(new URL('../../fixtures/io_args.wasm', import.meta.url));
  const program = await load(bytes, { args: ['-21', '1.25', 'true', 'x'] });
  const report = await program.run('main');
  assert.ok(report.outcome.value);
  assert.match(report.output.stdout, /^int param: -42\n/);
  const tail = [];
  assert.equal(finish(report, { stdout: (t) => tail.push(t), stderr: (t) => tail.push(t) }), 0);
  assert.deepEqual(tail, []);
  const missing = await import('../runtime.mjs').then((rt) => rt.load(fs.readFileSync(new URL('../../fixtures/regex_errors.wasm', import.meta.url))).catch((e) => e));
  assert.ok(missing instanceof Error && /does not provide: .*vera\.regex_/.test(missing.message), String(missing));
});

test('read_bytes/write_bytes paths normalise as pathlib does (io.rs)', () => {
  const cases = [['', '.'], ['.', '.'], ['./', '.'], ['.//.', '.'], ['a', 'a'], ['a/', 'a'], ['./a', 'a'],
    ['a/./b', 'a/b'], ['a//b/', 'a/b'], ['a/../b', 'a/../b'], ['..', '..'], ['/', '/'], ['/./a', '/a'],
    ['//', '//'], ['//x', '//x'], ['///x', '/x']];
  for (const [given, want] of cases) assert.equal(pythonPath(given), want, JSON.stringify(given));
  assert.throws(() => pythonPath('a\0b'), /embedded null byte/);
});
