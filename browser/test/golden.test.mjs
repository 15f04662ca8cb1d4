// Replays golden/buckets.json (written by crates/vera-layout/tests/golden.rs)
// on runtime.mjs's collection code over a JavaScript copy of the layout
// crate's TestHeap, and checks every byte the operations leave and every
// `entries` read: the Rust and JavaScript encoders cannot drift apart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Heap, Field, collection, values } from '../runtime.mjs';

const golden = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../golden/buckets.json', import.meta.url)), 'utf8'));

/** vera_layout::test_heap::TestHeap (non-stress): same addresses, headers and fill. */
function testHeap() {
  const STACK_BASE = 1024;
  const STACK_LIMIT = STACK_BASE + 64 * 1024;
  const st = { mem: new Uint8Array(STACK_LIMIT + 4096), sp: STACK_BASE, bump: STACK_LIMIT + 4 };
  const heap = new Heap({
    buffer: () => st.mem.buffer,
    allocRaw(size) {
      const ptr = st.bump + 4;
      const total = Math.ceil((size + 4) / 8) * 8;
      const end = st.bump + total;
      if (end > st.mem.length) {
        let n = 1;
        while (n < end) n *= 2;
        const grown = new Uint8Array(n);
        grown.set(st.mem);
        st.mem = grown;
      }
      new DataView(st.mem.buffer).setUint32(ptr - 4, (size << 1) >>> 0, true);
      st.mem.fill(0xa5, ptr, ptr + total - 4);
      st.bump += total;
      return ptr;
    },
    shadowStack: () => [st.sp, STACK_LIMIT],
    setGcSp: (sp) => { st.sp = sp; },
  });
  return { heap, st };
}

function encode(tag, heap, v) {
  switch (tag) {
    case 'i': return Field.int(BigInt(v));
    case 'f': return { lo: parseInt(v.slice(8), 16), hi: parseInt(v.slice(0, 8), 16) };
    case 's': { const [p, l] = values.allocStr(heap, v); return Field.str(p, l); }
    default: return Field.word(v);
  }
}

function decode(tag, heap, f) {
  switch (tag) {
    case 'i': return Field.asInt(f).toString();
    case 'f': return f.hi.toString(16).padStart(8, '0') + f.lo.toString(16).padStart(8, '0');
    case 's': return values.readString(heap, f.lo, f.hi);
    default: return f.lo;
  }
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

for (const c of golden.cases) {
  test(`golden ${c.name}`, () => {
    const { heap, st } = testHeap();
    assert.equal(st.bump, c.heap_base);
    const versions = [];
    c.ops.forEach((op, i) => {
      const on = op.on === undefined ? undefined : versions[op.on];
      if (op.op === 'new') versions.push(collection.new(heap, c.kind));
      else if (op.op === 'insert') {
        const key = encode(c.k, heap, op.key);
        const [vtag, val] = c.kind === 'Map' ? [c.v, encode(c.v, heap, op.val)] : ['i', { lo: 0, hi: 0 }];
        versions.push(collection.insert(heap, c.kind, on, c.k, key, vtag, val));
      } else if (op.op === 'remove') {
        versions.push(collection.remove(heap, c.kind, on, c.k, encode(c.k, heap, op.key)));
      } else {
        const got = collection.entries(heap, c.kind, on)
          .map(([k, v]) => (c.kind === 'Map' ? [decode(c.k, heap, k), decode(c.v, heap, v)] : [decode(c.k, heap, k)]));
        assert.deepEqual(got, op.expect, `op ${i}: entries of version ${op.on}`);
      }
    });
    assert.deepEqual(versions, c.versions, 'wrapper addresses');
    const got = toHex(st.mem.subarray(c.heap_base, st.bump));
    if (got !== c.heap) {
      let at = 0;
      while (got[at] === c.heap[at]) at++;
      assert.fail(`heap bytes differ from offset ${c.heap_base + Math.floor(at / 2)}: want ${c.heap.slice(at, at + 32)}, got ${got.slice(at, at + 32)}`);
    }
  });
}
