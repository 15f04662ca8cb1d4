// The Rust host's unit vectors (format.rs, families/decimal.rs,
// families/json.rs, families/io.rs), checked on runtime.mjs's ports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pythonFloatRepr, Dec, jsonParse, parseCollectionImport, pythonPath } from '../runtime.mjs';

test('floats print as Python repr', () => {
  const cases = [[2.0, '2.0'], [1 / 3, '0.3333333333333333'], [1e300, '1e+300'], [1e16, '1e+16'],
    [1e15, '1000000000000000.0'], [123456789012345.6, '123456789012345.6'], [0.0001, '0.0001'], [0.00001, '1e-05'],
    [-1.5e-7, '-1.5e-07'], [0.1, '0.1'], [-0, '-0.0'], [NaN, 'nan'], [-Infinity, '-inf'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [5e-324, '5e-324'], [12.5, '12.5']];
  for (const [x, want] of cases) assert.equal(pythonFloatRepr(x), want, String(x));
});

const d = (s) => { const v = Dec.parse(s); assert.ok(v, `parse ${s}`); return v; };
const W = { prec: 28n, emax: 999999999999999999n, emin: -999999999999999999n };

test('Decimal str follows Python', () => {
  for (const [input, out] of [['1.10', '1.10'], ['1e3', '1E+3'], ['0.0000001', '1E-7'], ['0.000001', '0.000001'],
    ['0e5', '0E+5'], ['0e-5', '0.00000'], ['-0.00', '-0.00'], ['123.456e2', '12345.6'], ['00012.3400', '12.3400'],
    ['1e-999999', '1E-999999'], ['.5', '0.5'], ['5.', '5']]) {
    assert.equal(Dec.toString(d(input)), out, input);
  }
  for (const bad of ['', '1e', 'e5', '1_000', 'NaN', '1e1000000', '\u00a042', '--1', '1 2']) {
    assert.equal(Dec.parse(bad), null, JSON.stringify(bad));
  }
  for (const [v, out] of [[0.1, '0.1'], [100.0, '100.0'], [-0, '-0.0'], [1e-7, '1E-7'], [1e16, '1E+16'],
    [123456.789, '123456.789'], [1 / 3, '0.3333333333333333'], [0.0001, '0.0001'], [1.5e16, '1.5E+16']]) {
    assert.equal(Dec.toString(Dec.fromFloat(v)), out, String(v));
  }
});

test('Decimal arithmetic rounds half-even to 28 digits', () => {
  const s = (x) => Dec.toString(x);
  assert.equal(s(Dec.add(d('1.50'), d('-1.5'), W)), '0.00');
  assert.equal(s(Dec.add(d('9999999999999999999999999999'), d('0.5'), W)), '1.000000000000000000000000000E+28');
  assert.equal(s(Dec.add(d('1000000000000000000000000001'), d('0.5'), W)), '1000000000000000000000000002');
  assert.equal(s(Dec.sub(d('1'), d('1e-28'), W)), '0.9999999999999999999999999999');
  const big = Dec.mul(d('1e999999'), d('1e10'), W);
  assert.equal(s(big), '1E+1000009');
  assert.equal(s(Dec.sub(big, d('1'), W)), '1.000000000000000000000000000E+1000009');
  assert.equal(s(Dec.mul(d('-3'), d('0.0'), W)), '-0.0');
  assert.equal(s(Dec.div(d('6.0'), d('2.00'), W)), '3');
  assert.equal(s(Dec.div(d('2'), d('3'), W)), '0.6666666666666666666666666667');
  assert.equal(s(Dec.div(d('1e-30'), d('3'), W)), '3.333333333333333333333333333E-31');
  assert.equal(s(Dec.neg(d('-0'), W)), '0');
  assert.equal(s(Dec.abs({ neg: true, coef: 3n, exp: -1999998n }, W)), '3E-1999998');
  for (const [x, places, out] of [['2.5', 0n, '2'], ['-0.5', 0n, '-0'], ['9.995', 2n, '10.00'], ['1234.5', -2n, '1234'],
    ['1.5', 30n, '1.5'], ['1.5', 25n, '1.5000000000000000000000000'],
    ['1234567890123456789012345678.5', 0n, '1234567890123456789012345678'], ['1E+30', 0n, '1E+30'],
    ['0.1', 1000000n, '0.1'], ['0.1', -1000000n, '0.1'], ['-0.0001', 2n, '-0.00']]) {
    assert.equal(s(Dec.round(d(x), places)), out, `round(${x}, ${places})`);
  }
  assert.throws(() => Dec.compare({ nan: true }, d('1')), /InvalidOperation/);
  assert.equal(Dec.compare(d('-0.00'), d('0E+5')), 0);
  assert.equal(Dec.compare(d('1e999999'), d('1e999998')), 1);
  assert.equal(Dec.compare(d('-1'), d('-2')), 1);
});

test('JSON errors match Python json', () => {
  assert.equal(jsonParse('').err, 'Expecting value: line 1 column 1 (char 0)');
  assert.equal(jsonParse('[1,]').err, 'Expecting value: line 1 column 4 (char 3)');
  assert.equal(jsonParse('{"a" 1}').err, "Expecting ':' delimiter: line 1 column 6 (char 5)");
  assert.equal(jsonParse('[1]\n x').err, 'Extra data: line 2 column 2 (char 5)');
  assert.ok(jsonParse('['.repeat(1001) + ']'.repeat(1001)).trap.startsWith('maximum recursion depth exceeded'));
  assert.ok(jsonParse('['.repeat(1000) + ']'.repeat(1000)).ok);
});

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
