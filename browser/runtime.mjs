// vera-rt's browser runtime: runs WebAssembly modules compiled by Vera 0.2.3
// (and by 0.2.4+, whose maps live in the module: `vera.`-prefixed runtime
// exports, hash_key, read_bytes/write_bytes)
// in any JavaScript engine with WebAssembly (browsers, Node >= 20), with the
// same "vera" imports, output and error descriptions as the Rust host
// (crates/vera-host). What the families compute (regex, Markdown, HTML,
// JSON, Decimal, repr(float), HTTP's rules and texts) is the CLI's own Rust,
// browser/vera-core.wasm (crates/vera-browser-core over vera-families); this
// file is the glue with guest memory and the page.
//
// API (everything else exported is for tests):
//
//   const program = await load(bytes, options)
//       Compiles the module and checks its imports. Throws LoadError (its
//       message names every import this runtime does not provide).
//       options: {
//         stdout(text), stderr(text)   output callbacks (default: dropped)
//         stdin                        a string, a Uint8Array, a function
//                                      returning the next Uint8Array chunk
//                                      (null/empty at end of input), or
//                                      'prompt': ask the page's user a line
//                                      at a time (Cancel ends the input)
//         args: [string]               the function's arguments and IO.args
//         env: {name: value}           IO.get_env (default: empty)
//         readFile(path), writeFile(path, text)
//                                      file IO; return a string / nothing, or
//                                      throw an Error whose message is what
//                                      the program gets as Err (default: Err
//                                      "File I/O is not available in the
//                                      browser")
//         sleep(ms)                    default: busy-wait
//         http(method, url, body)      Http's fetch (section "Http" below);
//                                      default: synchronous XMLHttpRequest
//         core                         what loadCore() returns: regex,
//                                      Markdown, HTML, JSON, Decimal and
//                                      Http are computed by it (without it
//                                      a module importing them is refused),
//                                      and the module is rewritten as
//                                      `vera-rt run` loads it (a 0.2.4+
//                                      module's own Map/Set code replaced
//                                      by this runtime's buckets, a Vera
//                                      0.2.3 collector made overflow-safe,
//                                      Vera's alloc given size classes),
//                                      unless
//         asIs: true                   the module runs as compiled
//       }
//   const core = await loadCore(bytes)   // browser/vera-core.wasm's bytes, or
//                                        // a fetch Response of it (streamed)
//       The Rust code this runtime shares with the CLI, built for wasm32
//       (crates/vera-browser-core, scripts/build-browser-core).
//   const report = await program.run(fnName)   // fnName optional: main
//       report.outcome: {value: {type, value}} | {exit: code} |
//                       {trap: {kind, message, frames}}
//       report.note: the "Note: no 'main' ..." line, or null
//       report.output: {stdout, stderr}, the program's own output
//   const code = finish(report, {stdout, stderr})
//       Writes what `vera-rt run` writes after the program (missing final
//       newlines, the returned value, "Error: ..." and the backtrace) and
//       returns the process exit code.
//   const code = await runModule(bytes, options)   // load + run + finish,
//       with options.fn; a load error prints "Error: <name>: <reason>".
//
// Map and Set live only in guest memory in LAYOUT.md's versioned buckets
// (section "Collections" below, a port of crates/vera-layout/src/
// collection.rs); JavaScript never holds a collection's contents.

// ---------------------------------------------------------------------------
// Guest errors: the same variants and texts as vera_layout::GuestError
// ---------------------------------------------------------------------------

const hex = (n) => '0x' + (n >>> 0).toString(16);
const hex10 = (n) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/** Guest memory was not what an import needed (vera_layout::GuestError). */
export class GuestError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'GuestError';
    this.kind = kind; // 'out_of_bounds' or 'host_error', as the Rust host classifies
  }
  static oob(ptr, len, size) {
    return new GuestError('out_of_bounds',
      `out of bounds memory access: ${len} byte(s) at offset ${ptr} exceed memory size ${size}`);
  }
  static badLength(what, len) {
    return new GuestError('host_error', `invalid length ${len} for ${what}`);
  }
  static badTag(what, expected, ptr, found) {
    return new GuestError('host_error', `${what} at ${hex(ptr)} is not a ${expected} (tag ${hex10(found)})`);
  }
  static corrupt(what, ptr, detail) {
    return new GuestError('host_error', `corrupt ${what} at ${hex(ptr)}: ${detail}`);
  }
  static stackOverflow(sp, limit) {
    return new GuestError('host_error',
      `shadow stack overflow: gc_sp ${hex(sp)} + 4 exceeds gc_stack_limit ${hex(limit)}`);
  }
  static badAlloc(size, ptr) {
    return new GuestError('host_error', `alloc(${size}) returned ${hex(ptr)}, which is not a usable block`);
  }
  static tooLarge(n) {
    return new GuestError('host_error', `allocation of ${n} bytes exceeds the guest heap`);
  }
}

/** Why a host import stopped the guest (vera_host::trap::HostTrap). */
class HostTrap extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = 'HostTrap';
    this.kind = kind; // 'exit' | 'guest' | 'refused' | 'limit'
    Object.assign(this, extra);
  }
}

/** A module this runtime cannot load. */
export class LoadError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LoadError';
  }
}

// ---------------------------------------------------------------------------
// Bounds-checked little-endian memory (vera_layout::mem) and the heap
// contract (vera_layout::heap): alloc, the shadow stack, rooting.
// ---------------------------------------------------------------------------

/**
 * Guest memory plus the guest's allocator and shadow stack. `source` gives
 * the current ArrayBuffer and the allocator:
 *   { buffer(), allocRaw(size), shadowStack() -> [sp, limit] | null, setGcSp(sp) }
 * The views are refreshed whenever the buffer changes (alloc may grow it).
 */
export class Heap {
  constructor(source) {
    this.source = source;
    this.buf = null;
    /** Set for a module that keeps its own maps (runtimeExports). */
    this.moduleMaps = null;
  }
  view() {
    const buf = this.source.buffer();
    if (buf !== this.buf) {
      this.buf = buf;
      this.u8a = new Uint8Array(buf);
      this.dv = new DataView(buf);
    }
    return this.u8a;
  }
  size() {
    return this.view().length;
  }
  check(ptr, len) {
    const size = this.view().length;
    if (ptr < 0 || ptr + len > size) throw GuestError.oob(ptr, len, size);
  }
  u32(ptr) {
    this.check(ptr, 4);
    return this.dv.getUint32(ptr, true);
  }
  setU32(ptr, v) {
    this.check(ptr, 4);
    this.dv.setUint32(ptr, v >>> 0, true);
  }
  f64(ptr) {
    this.check(ptr, 8);
    return this.dv.getFloat64(ptr, true);
  }
  field(ptr) {
    this.check(ptr, 8);
    return { lo: this.dv.getUint32(ptr, true), hi: this.dv.getUint32(ptr + 4, true) };
  }
  setField(ptr, f) {
    this.check(ptr, 8);
    this.dv.setUint32(ptr, f.lo >>> 0, true);
    this.dv.setUint32(ptr + 4, f.hi >>> 0, true);
  }
  bytes(ptr, len) {
    this.check(ptr, len);
    return this.u8a.subarray(ptr, ptr + len);
  }
  fill(ptr, len, byte) {
    this.check(ptr, len);
    this.u8a.fill(byte, ptr, ptr + len);
  }
  write(ptr, data) {
    this.check(ptr, data.length);
    this.u8a.set(data, ptr);
  }
  /** Allocates `size` bytes and checks the block lies inside memory. */
  alloc(size) {
    if (size > 0x7fffffff) throw GuestError.tooLarge(size);
    const ptr = this.source.allocRaw(size) >>> 0;
    if (ptr === 0 || ptr + size > this.size()) throw GuestError.badAlloc(size, ptr);
    return ptr;
  }
  allocBytes(data) {
    const ptr = this.alloc(data.length);
    this.write(ptr, data);
    return ptr;
  }
  /**
   * Runs `body` with `roots` pushed on the shadow stack, so the guest's
   * collector keeps them (and all they reach) alive across allocations;
   * gc_sp is restored on every exit path. Zero entries are skipped.
   */
  withRoots(roots, body) {
    const stack = this.source.shadowStack();
    if (!stack) return body();
    const [saved, limit] = stack;
    const live = roots.filter((r) => r !== 0);
    const next = saved + 4 * live.length;
    if (next > limit) throw GuestError.stackOverflow(saved, limit);
    live.forEach((r, i) => this.setU32(saved + 4 * i, r));
    if (live.length === 0) return body();
    this.source.setGcSp(next);
    try {
      return body();
    } finally {
      this.source.setGcSp(saved);
    }
  }
}

// ---------------------------------------------------------------------------
// Fields: the 8-byte key/value encodings of tags i, f, s, b (field.rs)
// ---------------------------------------------------------------------------

export const TAGS = ['i', 'f', 's', 'b'];
const ZERO = Object.freeze({ lo: 0, hi: 0 });

const scratch = new DataView(new ArrayBuffer(8));
export const Field = {
  int(v) { // v: BigInt
    const u = BigInt.asUintN(64, v);
    return { lo: Number(u & 0xffffffffn), hi: Number(u >> 32n) };
  },
  float(x) {
    scratch.setFloat64(0, x, true);
    return { lo: scratch.getUint32(0, true), hi: scratch.getUint32(4, true) };
  },
  str(ptr, len) { return { lo: ptr >>> 0, hi: len >>> 0 }; },
  word(v) { return { lo: v >>> 0, hi: 0 }; },
  asInt(f) { return BigInt.asIntN(64, (BigInt(f.hi) << 32n) | BigInt(f.lo)); },
  asFloat(f) {
    scratch.setUint32(0, f.lo, true);
    scratch.setUint32(4, f.hi, true);
    return scratch.getFloat64(0, true);
  },
  eqBits(a, b) { return a.lo === b.lo && a.hi === b.hi; },
  /** The guest pointer a field may hold, for rooting. */
  pointer(tag, f) { return tag === 's' || tag === 'b' ? f.lo : 0; },
};

/** A string field's bytes (empty for len 0, whatever ptr). */
function fieldStrBytes(heap, f) {
  if (f.hi === 0) return new Uint8Array(0);
  if (f.hi > 0x7fffffff) throw GuestError.badLength('String', f.hi | 0);
  return heap.bytes(f.lo, f.hi);
}

function validateField(heap, tag, f) {
  if (tag === 's') heap.bytes(f.lo, f.hi);
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equality of two fields under `tag`'s semantics. */
export function fieldEqual(tag, heap, a, b) {
  switch (tag) {
    case 'f': {
      const x = Field.asFloat(a);
      const y = Field.asFloat(b);
      return x === y || (Number.isNaN(x) && Number.isNaN(y));
    }
    case 's':
      return Field.eqBits(a, b) || (a.hi === b.hi && bytesEqual(fieldStrBytes(heap, a), fieldStrBytes(heap, b)));
    default:
      return Field.eqBits(a, b);
  }
}

/** murmur3's 32-bit finaliser. */
export function fmix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const hashWords = (lo, hi) => fmix32((lo ^ ((fmix32(hi) + 0x9e3779b9) >>> 0)) >>> 0);

/** FNV-1a over the bytes, then fmix32. */
export function hashBytes(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return fmix32(h);
}

/** The hash the bucket index uses; equal fields hash alike. Its low bits
 *  place a key in the index, its top five are the key's fingerprint. */
export function fieldHash(tag, heap, f) {
  switch (tag) {
    case 'i': {
      // Groups of 8 consecutive Int keys hash together, to 8 different
      // offsets; the offset also goes into the fingerprint (field.rs).
      const group = hashWords(((f.lo >>> 3) | (f.hi << 29)) >>> 0, f.hi >>> 3);
      const offset = (f.lo ^ (group >>> 29)) & 7;
      return (((group << 3) | offset) ^ (offset << 29)) >>> 0;
    }
    case 'f': {
      const x = Field.asFloat(f);
      if (Number.isNaN(x)) return hashWords(0, 0x7ff80000);
      if (x === 0) return hashWords(0, 0);
      return hashWords(f.lo, f.hi);
    }
    case 's':
      return hashBytes(fieldStrBytes(heap, f));
    default:
      return hashWords(f.lo, f.hi);
  }
}

/** Cell size of an Array of `b` values: 1 when every value fits a byte. */
function wordCellSize(values) {
  return values.every((v) => v <= 0xff) ? 1 : 4;
}

// ---------------------------------------------------------------------------
// Strings, ADTs and arrays (values.rs)
// ---------------------------------------------------------------------------

const NONE = 0;
const SOME = 1;
const OK = 0;
const ERR = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

function strBytes(heap, ptr, len) {
  if ((len | 0) < 0) throw GuestError.badLength('String', len | 0);
  return fieldStrBytes(heap, Field.str(ptr, len));
}

/** Reads a guest string; invalid UTF-8 becomes U+FFFD. */
function readString(heap, ptr, len) {
  return decoder.decode(strBytes(heap, ptr >>> 0, len >>> 0));
}

/** Copies UTF-8 `bytes` into a fresh block; empty is [0, 0]. */
function allocStr(heap, bytes) {
  if (typeof bytes === 'string') bytes = encoder.encode(bytes);
  if (bytes.length === 0) return [0, 0];
  if (bytes.length > 0x7fffffff) throw GuestError.tooLarge(bytes.length);
  return [heap.allocBytes(bytes), bytes.length];
}

// Payloads: {empty}, {word: u32}, {wide: field}, {str: [ptr, len]}
const Payload = {
  empty: { t: 'empty' },
  word: (w) => ({ t: 'word', w: w >>> 0 }),
  wide: (f) => ({ t: 'wide', f }),
  str: (p, l) => ({ t: 'str', p: p >>> 0, l: l >>> 0 }),
  fromField(tag, f) {
    if (tag === 'i' || tag === 'f') return Payload.wide(f);
    if (tag === 's') return Payload.str(f.lo, f.hi);
    return Payload.word(f.lo);
  },
};

/** Allocates an ADT value `tag(payload)`; a pointer payload is rooted. */
function allocAdt(heap, tag, payload) {
  const [size, root] = {
    empty: [4, 0], word: [8, payload.w], wide: [16, 0], str: [12, payload.p],
  }[payload.t];
  return heap.withRoots([root], () => {
    const ptr = heap.alloc(size);
    heap.setU32(ptr, tag);
    if (payload.t === 'word') heap.setU32(ptr + 4, payload.w);
    else if (payload.t === 'wide') {
      heap.setU32(ptr + 4, 0);
      heap.setField(ptr + 8, payload.f);
    } else if (payload.t === 'str') {
      heap.setU32(ptr + 4, payload.p);
      heap.setU32(ptr + 8, payload.l);
    }
    return ptr;
  });
}

function allocAdtWithStr(heap, tag, text) {
  const [p, l] = allocStr(heap, text);
  return allocAdt(heap, tag, Payload.str(p, l));
}

/** An Array of `fields` under `tag` (1-byte cells for small `b` values). */
function allocFieldArray(heap, tag, fields) {
  if (fields.length === 0) return [0, 0];
  const cell = tag === 'b' ? wordCellSize(fields.map((f) => f.lo)) : tag === 'i' || tag === 'f' || tag === 's' ? 8 : 4;
  const size = fields.length * cell;
  if (size > 0xffffffff) throw GuestError.tooLarge(size);
  const ptr = heap.alloc(size);
  fields.forEach((f, i) => {
    const at = ptr + i * cell;
    if (cell === 8) heap.setField(at, f);
    else if (cell === 4) heap.setU32(at, f.lo);
    else heap.write(at, [f.lo & 0xff]);
  });
  return [ptr, fields.length];
}

/**
 * An array of `n` cells of `cell` bytes (4 or 8), zeroed and rooted while
 * `fill(i)` builds each element ({lo, hi} for 8-byte cells, a u32 for 4).
 */
function allocArrayWith(heap, n, cell, fill) {
  if (n === 0) return [0, 0];
  const size = n * cell;
  if (cell > 8 || size > 0xffffffff) throw GuestError.tooLarge(size);
  const backing = heap.alloc(size);
  heap.fill(backing, size, 0);
  return heap.withRoots([backing], () => {
    for (let i = 0; i < n; i++) {
      const v = fill(i);
      if (cell === 8) heap.setField(backing + 8 * i, v);
      else heap.setU32(backing + 4 * i, v);
    }
    return [backing, n];
  });
}

function allocStringArray(heap, items) {
  return allocArrayWith(heap, items.length, 8, (i) => {
    const [p, l] = allocStr(heap, items[i]);
    return Field.str(p, l);
  });
}

/** A zeroed block of `size` bytes, `tag` at +0, `words` [offset, u32]. */
function allocBlock(heap, size, tag, words, roots) {
  return heap.withRoots(roots, () => {
    const ptr = heap.alloc(size);
    heap.fill(ptr, size, 0);
    heap.setU32(ptr, tag);
    for (const [off, v] of words) heap.setU32(ptr + off, v);
    return ptr;
  });
}

export const values = { readString, allocStr, allocAdt, allocAdtWithStr, allocFieldArray, allocArrayWith, allocStringArray, allocBlock, Payload };

// ---------------------------------------------------------------------------
// Collections: Map and Set in guest memory, versioned buckets by rerooting.
// A port of crates/vera-layout/src/collection.rs; LAYOUT.md gives every byte.
// ---------------------------------------------------------------------------

export const MAP_TAG = 0xfeedc001;
export const SET_TAG = 0xfeedc002;
const KIND_TAG = { Map: MAP_TAG, Set: SET_TAG };

const W_TAG = 0, W_STATE = 4, W_LINK = 8, W_OP = 12, W_SLOT = 16, W_POS = 20, W_KEY = 24, W_VAL = 32;
export const WRAPPER_SIZE = 40;
const ROOT = 0, DIFF = 1;
const B_CAP = 0, B_COUNT = 4, B_SLOTS = 8, SLOT_SIZE = 20, S_OCC = 0, S_KEY = 4, S_VAL = 12;
const INDEX_LIVE = 0x80000000;
const SLOT_BITS = 26, SLOT_MASK = (1 << SLOT_BITS) - 1;
const POS_BITS = 27, POS_MASK = (1 << POS_BITS) - 1;
const MIN_CAPACITY = 8;
/** The least capacity a bucket may have: the host's exact-size buckets (collection::MIN_BUILT_CAPACITY). */
const MIN_BUILT_CAPACITY = 4;
const MAX_CAPACITY = 1 << 26;
const OP_SAME = 0, OP_UNAPPEND = 1, OP_REAPPEND = 2, OP_REVIVE = 3, OP_KILL = 4, OP_SETVAL = 5;

export const bucketSize = (cap) => 12 + 28 * cap;
const isPow2 = (n) => n > 0 && (n & (n - 1)) === 0;

// Where a key's index entry is, and its fingerprint: {pos, fp}. A version
// record keeps both in its `pos` word.
const NOWHERE = { pos: 0, fp: 0 };
const placeOf = (hash, mask) => ({ pos: (hash & mask) >>> 0, fp: hash >>> POS_BITS });
// The next entry a probe looks at: the same offset in the next group of 8,
// then (past the last group) the next offset.
const nextPos = (pos, mask) => (pos + 8 <= mask ? pos + 8 : (pos + 1) & 7);
const placeEntry = (at, slot) => (INDEX_LIVE | (at.fp << SLOT_BITS) | slot) >>> 0;
const placeWord = (at) => (at.pos | (at.fp << POS_BITS)) >>> 0;
const placeFromWord = (word) => ({ pos: (word & POS_MASK) >>> 0, fp: word >>> POS_BITS });

// A diff: {op, slot, at, key, val} (unused fields zero).
const diff = (op, slot = 0, at = NOWHERE, key = ZERO, val = ZERO) => ({ op, slot, at, key, val });
const SAME = diff(OP_SAME);
const sameDiff = (a, b) => a.op === b.op && a.slot === b.slot && placeWord(a.at) === placeWord(b.at)
  && Field.eqBits(a.key, b.key) && Field.eqBits(a.val, b.val);

function readDiff(heap, w) {
  const slot = heap.u32(w + W_SLOT);
  const at = placeFromWord(heap.u32(w + W_POS));
  const key = heap.field(w + W_KEY);
  const val = heap.field(w + W_VAL);
  const op = heap.u32(w + W_OP);
  switch (op) {
    case OP_SAME: return SAME;
    case OP_UNAPPEND: return diff(op, slot, at);
    case OP_REAPPEND: return diff(op, slot, at, key, val);
    case OP_REVIVE: case OP_KILL: return diff(op, slot);
    case OP_SETVAL: return diff(op, slot, NOWHERE, ZERO, val);
    default: throw GuestError.corrupt('Map/Set version', w, `unknown diff op ${op}`);
  }
}

function writeVersion(heap, w, state, link, d) {
  heap.setU32(w + W_STATE, state);
  heap.setU32(w + W_LINK, link);
  heap.setU32(w + W_OP, d.op);
  heap.setU32(w + W_SLOT, d.slot);
  heap.setU32(w + W_POS, placeWord(d.at));
  heap.setField(w + W_KEY, d.key);
  heap.setField(w + W_VAL, d.val);
}

const setRoot = (heap, w, bucket) => writeVersion(heap, w, ROOT, bucket, SAME);

/** Checks `w` is a wrapper of `kind`; returns [state, link]. */
function wrapper(heap, w, kind) {
  heap.check(w, WRAPPER_SIZE);
  const tag = heap.u32(w + W_TAG);
  if (tag !== KIND_TAG[kind]) throw GuestError.badTag('value', kind, w, tag);
  const state = heap.u32(w + W_STATE);
  if (state !== ROOT && state !== DIFF) throw GuestError.corrupt('Map/Set version', w, `unknown state ${state}`);
  return [state, heap.u32(w + W_LINK)];
}

/** A validated view of a bucket's header. */
class Bucket {
  constructor(ptr, cap, count, used) {
    Object.assign(this, { ptr, cap, count, used });
  }
  static load(heap, ptr) {
    const bad = (detail) => GuestError.corrupt('bucket', ptr, detail);
    const cap = heap.u32(ptr + B_CAP);
    if (!isPow2(cap) || cap < MIN_BUILT_CAPACITY || cap > MAX_CAPACITY) {
      throw bad(`capacity ${cap} is not a power of two in [4, 2^26]`);
    }
    const size = bucketSize(cap);
    heap.check(ptr, size);
    if (ptr < 4) throw bad('at address 0');
    const header = heap.u32(ptr - 4);
    if (header >>> 1 < size) {
      throw bad(`block of ${header >>> 1} bytes is smaller than capacity ${cap} needs (${size})`);
    }
    const count = heap.u32(ptr + B_COUNT);
    const used = heap.u32(ptr + 8 + SLOT_SIZE * cap);
    if (count > used || used > cap) throw bad(`count ${count}, used ${used}, capacity ${cap} disagree`);
    return new Bucket(ptr, cap, count, used);
  }
  slot(s) { return this.ptr + B_SLOTS + SLOT_SIZE * s; }
  usedAt() { return this.ptr + 8 + SLOT_SIZE * this.cap; }
  indexAt(pos) { return this.ptr + 12 + SLOT_SIZE * this.cap + 4 * pos; }
  mask() { return 2 * this.cap - 1; }
  live(heap, s) { return heap.u32(this.slot(s) + S_OCC) !== 0; }
  key(heap, s) { return heap.field(this.slot(s) + S_KEY); }
  val(heap, s) { return heap.field(this.slot(s) + S_VAL); }
  storeCounts(heap) {
    heap.setU32(this.ptr + B_COUNT, this.count);
    heap.setU32(this.usedAt(), this.used);
  }
  corrupt(detail) { return GuestError.corrupt('bucket', this.ptr, detail); }

  /** {found: slot} for the live slot holding `key`, else {vacant: place}.
   *  An entry with another fingerprint is passed without reading its slot. */
  probe(heap, tag, key) {
    const mask = this.mask();
    const at = placeOf(fieldHash(tag, heap, key), mask);
    let pos = at.pos;
    for (let n = 0; n <= mask; n++) {
      const entry = heap.u32(this.indexAt(pos));
      if (entry === 0) return { vacant: { pos, fp: at.fp } };
      const s = (entry & SLOT_MASK) >>> 0;
      if ((entry & INDEX_LIVE) === 0) throw this.corrupt(`index entry ${pos} holds ${hex(entry)}`);
      if (s >= this.used) throw this.corrupt(`index entry ${pos} names slot ${s} beyond used ${this.used}`);
      if (entry === placeEntry(at, s) && this.live(heap, s) && fieldEqual(tag, heap, this.key(heap, s), key)) {
        return { found: s };
      }
      pos = nextPos(pos, mask);
    }
    throw this.corrupt('index has no free entry');
  }

  /** Appends a live slot linked from index place `at`. */
  append(heap, at, key, val) {
    const s = this.used;
    const { pos } = at;
    if (s >= this.cap || pos > this.mask() || heap.u32(this.indexAt(pos)) !== 0) {
      throw this.corrupt(`cannot append slot ${s} at index entry ${pos}`);
    }
    const to = this.slot(s);
    heap.setU32(to + S_OCC, 1);
    heap.setField(to + S_KEY, key);
    heap.setField(to + S_VAL, val);
    heap.setU32(this.indexAt(pos), placeEntry(at, s));
    this.used += 1;
    this.count += 1;
    this.storeCounts(heap);
    return s;
  }

  setLive(heap, s, live) {
    if (s >= this.used || this.live(heap, s) === live) {
      throw this.corrupt(`slot ${s} cannot become ${live ? 'live' : 'dead'}`);
    }
    heap.setU32(this.slot(s) + S_OCC, live ? 1 : 0);
    this.count += live ? 1 : -1;
    this.storeCounts(heap);
  }

  /** Applies `d` (bucket holds the newer version); returns the inverse. */
  apply(heap, d) {
    const { slot, at } = d;
    const { pos } = at;
    switch (d.op) {
      case OP_SAME:
        return SAME;
      case OP_UNAPPEND: {
        if (slot + 1 !== this.used || pos > this.mask() || heap.u32(this.indexAt(pos)) !== placeEntry(at, slot)
          || !this.live(heap, slot)) {
          throw this.corrupt(`cannot undo append of slot ${slot}`);
        }
        const key = this.key(heap, slot);
        const val = this.val(heap, slot);
        heap.fill(this.slot(slot), SLOT_SIZE, 0);
        heap.setU32(this.indexAt(pos), 0);
        this.used -= 1;
        this.count -= 1;
        this.storeCounts(heap);
        return diff(OP_REAPPEND, slot, at, key, val);
      }
      case OP_REAPPEND:
        if (slot !== this.used || pos > this.mask()) throw this.corrupt(`cannot redo append of slot ${slot}`);
        this.append(heap, at, d.key, d.val);
        return diff(OP_UNAPPEND, slot, at);
      case OP_REVIVE:
        this.setLive(heap, slot, true);
        return diff(OP_KILL, slot);
      case OP_KILL:
        this.setLive(heap, slot, false);
        return diff(OP_REVIVE, slot);
      case OP_SETVAL: {
        if (slot >= this.used || !this.live(heap, slot)) throw this.corrupt(`cannot set value of slot ${slot}`);
        const old = this.val(heap, slot);
        heap.setField(this.slot(slot) + S_VAL, d.val);
        return diff(OP_SETVAL, slot, NOWHERE, ZERO, old);
      }
      default:
        throw this.corrupt(`unknown diff op ${d.op}`);
    }
  }

  /** Live [key, value] pairs in first-insertion order. */
  entries(heap) {
    const out = [];
    for (let s = 0; s < this.used; s++) {
      if (this.live(heap, s)) out.push([this.key(heap, s), this.val(heap, s)]);
    }
    if (out.length !== this.count) throw this.corrupt(`count ${this.count} but ${out.length} live slots`);
    return out;
  }
}

const loadBucket = (heap, ptr) => (ptr === 0 ? null : Bucket.load(heap, ptr));

/** Makes `w` the root of its family; returns its bucket (null: empty). */
function reroot(heap, kind, w) {
  let [state, link] = wrapper(heap, w, kind);
  if (state === ROOT) return loadBucket(heap, link);
  const path = [w];
  const maxSteps = Math.floor(heap.size() / WRAPPER_SIZE) + 1;
  let root = w;
  while (state === DIFF) {
    if (path.length > maxSteps) throw GuestError.corrupt('Map/Set version', w, 'diff chain has a cycle');
    root = link;
    [state, link] = wrapper(heap, root, kind);
    if (state === DIFF) path.push(root);
  }
  const bucket = loadBucket(heap, link);
  if (bucket === null) {
    for (let i = path.length - 1; i >= 0; i--) {
      const v = path[i];
      if (!sameDiff(readDiff(heap, v), SAME)) {
        throw GuestError.corrupt('Map/Set version', v, 'diff against an empty collection');
      }
      writeVersion(heap, root, DIFF, v, SAME);
      setRoot(heap, v, 0);
      root = v;
    }
    return null;
  }
  for (let i = path.length - 1; i >= 0; i--) {
    const v = path[i];
    const inverse = bucket.apply(heap, readDiff(heap, v));
    writeVersion(heap, root, DIFF, v, inverse);
    setRoot(heap, v, bucket.ptr);
    root = v;
  }
  return bucket;
}

function allocWrapper(heap, kind) {
  const w = heap.alloc(WRAPPER_SIZE);
  heap.setU32(w + W_TAG, KIND_TAG[kind]);
  setRoot(heap, w, 0);
  return w;
}

function allocBucket(heap, cap) {
  const size = bucketSize(cap);
  const ptr = heap.alloc(size);
  heap.fill(ptr, size, 0);
  heap.setU32(ptr + B_CAP, cap);
  return new Bucket(ptr, cap, 0, 0);
}

/** Capacity for a bucket about to hold `live` entries, with room for half
 *  as many again (a full bucket doubles); as LAYOUT.md and collection.rs. */
function capacityFor(live) {
  let cap = MIN_CAPACITY;
  while (cap < live + Math.floor(live / 2)) cap *= 2;
  if (cap > MAX_CAPACITY) throw GuestError.tooLarge(live);
  return cap;
}

/** Capacity for a bucket the host fills whole with `live` entries: the
 *  least that holds them (collection.rs's capacity_exact). */
function capacityExact(live) {
  let cap = MIN_BUILT_CAPACITY;
  while (cap < live) cap *= 2;
  if (cap > MAX_CAPACITY) throw GuestError.tooLarge(live);
  return cap;
}

function put(bucket, heap, ktag, key, val) {
  const p = bucket.probe(heap, ktag, key);
  if (p.found !== undefined) bucket.apply(heap, diff(OP_SETVAL, p.found, NOWHERE, ZERO, val));
  else bucket.append(heap, p.vacant, key, val);
}

/** Map and Set over a Heap; every function mirrors collection.rs. */
export const collection = {
  /** A new, empty collection. */
  new: (heap, kind) => allocWrapper(heap, kind),

  /** A collection of `entries` in one wrapper and bucket (insert semantics). */
  fromEntries(heap, kind, ktag, entries) {
    const w = allocWrapper(heap, kind);
    if (entries.length === 0) return w;
    const bucket = heap.withRoots([w], () => allocBucket(heap, capacityExact(entries.length)));
    for (const [key, val] of entries) {
      validateField(heap, ktag, key);
      put(bucket, heap, ktag, key, val);
    }
    setRoot(heap, w, bucket.ptr);
    return w;
  },

  size(heap, kind, w) {
    const b = reroot(heap, kind, w);
    return b === null ? 0 : b.count;
  },

  /** The value under `key`, or null. */
  get(heap, kind, w, ktag, key) {
    validateField(heap, ktag, key);
    const b = reroot(heap, kind, w);
    if (b === null) return null;
    const p = b.probe(heap, ktag, key);
    return p.found !== undefined ? b.val(heap, p.found) : null;
  },

  entries(heap, kind, w) {
    const b = reroot(heap, kind, w);
    return b === null ? [] : b.entries(heap);
  },

  /** `w` with `key` mapped to `val`; returns the new version. */
  insert(heap, kind, w, ktag, key, vtag, val) {
    validateField(heap, ktag, key);
    validateField(heap, vtag, val);
    const bucket = reroot(heap, kind, w);
    let plan;
    if (bucket === null) plan = { copy: MIN_CAPACITY };
    else {
      const p = bucket.probe(heap, ktag, key);
      if (p.found !== undefined) plan = kind === 'Set' ? { same: true } : { setval: p.found };
      else if (bucket.used < bucket.cap) plan = { append: p.vacant };
      else plan = { copy: capacityFor(bucket.count + 1) };
    }
    const roots = [w, Field.pointer(ktag, key), Field.pointer(vtag, val)];
    return update(heap, kind, w, bucket, plan, roots, ktag, [key, val]);
  },

  /** `w` without `key`; returns the new version. */
  remove(heap, kind, w, ktag, key) {
    validateField(heap, ktag, key);
    const bucket = reroot(heap, kind, w);
    let plan = { same: true };
    if (bucket !== null) {
      const p = bucket.probe(heap, ktag, key);
      if (p.found !== undefined) plan = { kill: p.found };
    }
    return update(heap, kind, w, bucket, plan, [w, Field.pointer(ktag, key)], ktag, null);
  },
};

/** Allocates the new version (and bucket) with `roots` pushed, then runs `plan`. */
function update(heap, kind, w, bucket, plan, roots, ktag, entry) {
  return heap.withRoots(roots, () => {
    const nw = allocWrapper(heap, kind);
    let forward;
    if (plan.copy !== undefined) {
      const fresh = heap.withRoots([nw], () => allocBucket(heap, plan.copy));
      if (bucket !== null) {
        for (const [k, v] of Bucket.load(heap, bucket.ptr).entries(heap)) put(fresh, heap, ktag, k, v);
      }
      if (entry !== null) put(fresh, heap, ktag, entry[0], entry[1]);
      setRoot(heap, nw, fresh.ptr);
      return nw;
    } else if (plan.same && bucket === null) {
      return nw;
    } else if (plan.same) {
      // The new version becomes the root, as for the other updates.
      forward = SAME;
    } else if (plan.setval !== undefined) {
      forward = diff(OP_SETVAL, plan.setval, NOWHERE, ZERO, entry ? entry[1] : ZERO);
    } else if (plan.kill !== undefined) {
      forward = diff(OP_KILL, plan.kill);
    } else {
      const [key, val] = entry || [ZERO, ZERO];
      forward = diff(OP_REAPPEND, bucket ? bucket.used : 0, plan.append, key, val);
    }
    const ptr = bucket ? bucket.ptr : 0;
    const b = Bucket.load(heap, ptr);
    const inverse = b.apply(heap, forward);
    writeVersion(heap, w, DIFF, nw, inverse);
    setRoot(heap, nw, ptr);
    return nw;
  });
}

// ---------------------------------------------------------------------------
// The module's signatures: a small reader of the type, import, function and
// export sections (the JS API does not expose function types).
// ---------------------------------------------------------------------------

const VALTYPES = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

/** {imports: [{module, name, kind, type}], exports: Map(name -> {kind, type})} */
export function readSignatures(bytes) {
  let off = 8;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do {
      byte = bytes[off++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  const name = () => {
    const len = u32();
    const s = decoder.decode(bytes.subarray(off, off + len));
    off += len;
    return s;
  };
  const limits = () => {
    const flags = bytes[off++];
    u32();
    if (flags & 1) u32();
  };
  const types = [];
  const imports = [];
  const funcTypes = []; // function index space -> type
  const exports = new Map();
  while (off < bytes.length) {
    const id = bytes[off++];
    const len = u32();
    const end = off + len;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        if (bytes[off++] !== 0x60) { types.push(null); off = end; break; }
        const params = [];
        for (let p = u32(); p > 0; p--) params.push(VALTYPES[bytes[off++]] || '?');
        const results = [];
        for (let r = u32(); r > 0; r--) results.push(VALTYPES[bytes[off++]] || '?');
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = bytes[off++];
        if (kind === 0) {
          const type = types[u32()] || null;
          imports.push({ module, name: field, kind: 'function', type });
          funcTypes.push(type);
        } else if (kind === 1) { off++; limits(); imports.push({ module, name: field, kind: 'table' }); }
        else if (kind === 2) { limits(); imports.push({ module, name: field, kind: 'memory' }); }
        else if (kind === 3) { off += 2; imports.push({ module, name: field, kind: 'global' }); }
        else if (kind === 4) { off++; u32(); imports.push({ module, name: field, kind: 'tag' }); }
        else break;
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcTypes.push(types[u32()] || null);
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const field = name();
        const kind = bytes[off++];
        const index = u32();
        exports.set(field, { kind, type: kind === 0 ? funcTypes[index] : null });
      }
    }
    off = end;
  }
  return { imports, exports };
}

const sigText = (t) => (t ? `(func (param ${t.params.join(' ')}) (result ${t.results.join(' ')}))` : '(unknown)');
const sameSig = (a, b) => a && b && a.params.join() === b.params.join() && a.results.join() === b.results.join();

// ---------------------------------------------------------------------------
// Import families. Each is {name: define(importName, type, rt) -> function |
// null}; `rt` is the run's state (heap, options, channels).
// ---------------------------------------------------------------------------

/** Runs `body` on the guest heap, turning a GuestError into a trap naming `imp`. */
function withHeap(rt, imp, body) {
  try {
    return body(rt.heap);
  } catch (e) {
    if (e instanceof GuestError) throw new HostTrap('guest', `vera.${imp}: ${e.message}`, { imp, source: e });
    throw e;
  }
}

const i32 = (v) => v | 0;

/** Python's repr of a string (quotes chosen as Python does). */
export function pythonReprStr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === quote) out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

/** Length of the longest valid UTF-8 prefix of `bytes`, or -1 if all valid. */
/**
 * Python's `UnicodeDecodeError` text for bytes that are not UTF-8, or null:
 * the bad sequence is the longest prefix of a well-formed one (Unicode's
 * "maximal subpart"), named by its first byte or by its range
 * (vera_families::utf8::decode_error).
 */
function utf8DecodeError(bytes) {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let n, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) { n = 2; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 3; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else return pythonDecodeError(bytes, i, 1, 'invalid start byte');
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined) return pythonDecodeError(bytes, i, bytes.length - i, 'unexpected end of data');
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return pythonDecodeError(bytes, i, k, 'invalid continuation byte');
    }
    i += n + 1;
  }
  return null;
}

function pythonDecodeError(bytes, at, len, reason) {
  return len === 1
    ? `'utf-8' codec can't decode byte 0x${bytes[at].toString(16).padStart(2, '0')} in position ${at}: ${reason}`
    : `'utf-8' codec can't decode bytes in position ${at}-${at + len - 1}: ${reason}`;
}

const NO_FILES = 'File I/O is not available in the browser';

/**
 * The path Vera 0.2.5's `Path(path).read_bytes()` / `.write_bytes()` open
 * and name in an error: `str(pathlib.PurePosixPath(path))` (empty and `.`
 * components and repeated or trailing slashes dropped, a leading `//` kept,
 * `.` for nothing left). A NUL byte is refused as Python refuses it.
 */
export function pythonPath(path) {
  if (path.includes('\0')) throw new Error('embedded null byte');
  let root = '', rest = path;
  if (path.startsWith('//') && !path.startsWith('///')) { root = '//'; rest = path.slice(2); }
  else if (path.startsWith('/')) { root = '/'; rest = path.replace(/^\/+/, ''); }
  const joined = root + rest.split('/').filter((p) => p !== '' && p !== '.').join('/');
  return joined === '' ? '.' : joined;
}

const io = {
  print: (_n, _t, rt) => (ptr, len) => {
    rt.out(withHeap(rt, 'print', (h) => readString(h, ptr, len)));
  },
  stderr: (_n, _t, rt) => (ptr, len) => {
    rt.err(withHeap(rt, 'stderr', (h) => readString(h, ptr, len)));
  },
  read_line: (_n, _t, rt) => () => {
    let line = rt.stdin.readUntil(0x0a);
    if (line.length && line[line.length - 1] === 0x0a) line = line.subarray(0, line.length - 1);
    const text = decoder.decode(line);
    return withHeap(rt, 'read_line', (h) => allocStr(h, text)).map(i32);
  },
  read_char: (_n, _t, rt) => () => {
    const ch = rt.stdin.readChar();
    const [tag, text] = ch === null ? [ERR, 'EOF'] : [OK, ch];
    return i32(withHeap(rt, 'read_char', (h) => allocAdtWithStr(h, tag, text)));
  },
  read_file: (_n, _t, rt) => (ptr, len) => {
    const path = withHeap(rt, 'read_file', (h) => readString(h, ptr, len));
    let tag = OK, text;
    try {
      const got = rt.options.readFile ? rt.options.readFile(path) : null;
      if (got === null) throw new Error(NO_FILES);
      const bytes = typeof got === 'string' ? encoder.encode(got) : got;
      const bad = utf8DecodeError(bytes);
      if (bad !== null) {
        tag = ERR;
        text = bad;
      } else text = decoder.decode(bytes);
    } catch (e) {
      tag = ERR;
      text = e.message;
    }
    return i32(withHeap(rt, 'read_file', (h) => allocAdtWithStr(h, tag, text)));
  },
  write_file: (_n, _t, rt) => (pp, pl, dp, dl) => {
    const [path, data] = withHeap(rt, 'write_file', (h) => [readString(h, pp, pl), readString(h, dp, dl)]);
    let error = null;
    try {
      if (!rt.options.writeFile) throw new Error(NO_FILES);
      rt.options.writeFile(path, data);
    } catch (e) {
      error = e.message;
    }
    return i32(withHeap(rt, 'write_file', (h) => (error === null
      ? allocAdt(h, OK, Payload.empty) : allocAdtWithStr(h, ERR, error))));
  },
  // Vera 0.2.4+: a file's bytes, unchanged (Result<Array<Byte>, String>,
  // laid out as Result<String, String>), through options.readFile and
  // options.writeFile on the path as Python's pathlib spells it.
  read_bytes: (_n, _t, rt) => (ptr, len) => {
    const path = withHeap(rt, 'read_bytes', (h) => readString(h, ptr, len));
    let bytes = null, error = null;
    try {
      const p = pythonPath(path);
      const got = rt.options.readFile ? rt.options.readFile(p) : null;
      if (got === null) throw new Error(NO_FILES);
      bytes = typeof got === 'string' ? encoder.encode(got) : got;
    } catch (e) {
      error = e.message;
    }
    return i32(withHeap(rt, 'read_bytes', (h) => {
      if (error !== null) return allocAdtWithStr(h, ERR, error);
      const [p, l] = allocStr(h, bytes);
      return allocAdt(h, OK, Payload.str(p, l));
    }));
  },
  write_bytes: (_n, _t, rt) => (pp, pl, dp, dl) => {
    const [path, data] = withHeap(rt, 'write_bytes', (h) => [readString(h, pp, pl), strBytes(h, dp, dl).slice()]);
    let error = null;
    try {
      const p = pythonPath(path);
      if (!rt.options.writeFile) throw new Error(NO_FILES);
      rt.options.writeFile(p, data);
    } catch (e) {
      error = e.message;
    }
    return i32(withHeap(rt, 'write_bytes', (h) => (error === null
      ? allocAdt(h, OK, Payload.empty) : allocAdtWithStr(h, ERR, error))));
  },
  args: (_n, _t, rt) => () => withHeap(rt, 'args', (h) => allocStringArray(h, rt.args)).map(i32),
  exit: () => (code) => {
    throw new HostTrap('exit', `exit(${code})`, { code: BigInt(code) });
  },
  sleep: (_n, _t, rt) => (ms) => {
    const n = Number(ms);
    if (n <= 0) return;
    if (rt.options.sleep) { rt.options.sleep(n); return; }
    const deadline = Date.now() + n;
    while (Date.now() < deadline) { /* no synchronous sleep on a page's main thread */ }
  },
  time: () => () => BigInt(Date.now()),
  get_env: (_n, _t, rt) => (ptr, len) => {
    const key = withHeap(rt, 'get_env', (h) => readString(h, ptr, len));
    const env = rt.options.env || {};
    const value = Object.prototype.hasOwnProperty.call(env, key) ? env[key] : undefined;
    return i32(withHeap(rt, 'get_env', (h) => (value === undefined
      ? allocAdt(h, NONE, Payload.empty) : allocAdtWithStr(h, SOME, String(value)))));
  },
};

const checks = {
  contract_fail: (_n, _t, rt) => (ptr, len) => {
    rt.violation = withHeap(rt, 'contract_fail', (h) => readString(h, ptr, len));
  },
  trap: (_n, _t, rt) => (kind, ptr, len) => {
    const message = len === 0 ? '' : withHeap(rt, 'trap', (h) => readString(h, ptr, len));
    rt.trapSignal = { code: kind >>> 0, message };
  },
};

/** State<T>: one definition for every cell type, typed by the import's signature. */
function stateFamily(name, type, rt) {
  const m = /^state_(get|put|push|pop)_(.+)$/.exec(name);
  if (!m) return null;
  const [, op, cell] = m;
  const stack = () => {
    if (!rt.cells.has(cell)) rt.cells.set(cell, [null]);
    return rt.cells.get(cell);
  };
  const zero = (t) => (t === 'i64' ? 0n : 0);
  switch (op) {
    case 'get': {
      const t = type && type.results[0];
      return () => {
        const s = stack();
        const v = s[s.length - 1];
        if (v === null) return zero(t);
        return t === 'i64' ? BigInt.asIntN(64, BigInt(v)) : v;
      };
    }
    case 'put':
      return (v) => { const s = stack(); s[s.length - 1] = v; };
    case 'push':
      return () => { stack().push(null); };
    default:
      return () => { const s = stack(); if (s.length > 1) s.pop(); };
  }
}

/** Decodes a Map/Set import name: {kind, op, k, v} or null (collections.rs). */
export function parseCollectionImport(name) {
  const [base, tags = ''] = name.split('$');
  if (name.split('$').length > 2) return null;
  const isTag = (c) => TAGS.includes(c);
  const one = (prefix) => (tags.length === 2 && tags[0] === prefix && isTag(tags[1]) ? tags[1] : null);
  const two = () => (tags.length === 5 && tags[0] === 'k' && isTag(tags[1]) && tags[2] === '_' && tags[3] === 'v'
    && isTag(tags[4]) ? [tags[1], tags[4]] : null);
  const table = {
    map_new: ['Map', 'new', 0], set_new: ['Set', 'new', 0], map_size: ['Map', 'size', 0], set_size: ['Set', 'size', 0],
    map_insert: ['Map', 'insert', 2], map_get: ['Map', 'get', 2],
    map_contains: ['Map', 'contains', 'k'], map_remove: ['Map', 'remove', 'k'], map_keys: ['Map', 'keys', 'k'],
    map_values: ['Map', 'values', 'v'], set_add: ['Set', 'insert', 'e'], set_contains: ['Set', 'contains', 'e'],
    set_remove: ['Set', 'remove', 'e'], set_to_array: ['Set', 'keys', 'e'],
  };
  const row = table[base];
  if (!row) return null;
  const [kind, op, arity] = row;
  if (arity === 0) return tags === '' ? { kind, op, k: null, v: null } : null;
  if (arity === 2) {
    const kv = two();
    return kv ? { kind, op, k: kv[0], v: kv[1] } : null;
  }
  const t = one(arity);
  if (!t) return null;
  if (op === 'values') return { kind, op, k: null, v: t };
  return { kind, op, k: t, v: kind === 'Set' ? 'b' : null };
}

const wasmTypes = (tag) => ({ i: ['i64'], f: ['f64'], s: ['i32', 'i32'], b: ['i32'] })[tag];

/** The wasm signature Vera 0.2.3 gives a decoded Map/Set import. */
export function collectionSignature(imp) {
  switch (imp.op) {
    case 'new': return { params: [], results: ['i32'] };
    case 'size': return { params: ['i32'], results: ['i64'] };
    case 'insert': return {
      params: ['i32', ...wasmTypes(imp.k), ...(imp.kind === 'Set' ? [] : wasmTypes(imp.v))], results: ['i32'],
    };
    case 'get': case 'contains': case 'remove': return { params: ['i32', ...wasmTypes(imp.k)], results: ['i32'] };
    default: return { params: ['i32'], results: ['i32', 'i32'] };
  }
}

/** Reads one tagged field from the argument list at `at`; returns [field, next]. */
function takeField(tag, args, at) {
  switch (tag) {
    case 'i': return [Field.int(args[at]), at + 1];
    case 'f': return [Field.float(args[at]), at + 1];
    case 's': return [Field.str(args[at], args[at + 1]), at + 2];
    default: return [Field.word(args[at]), at + 1];
  }
}

/** Every Map/Set import, for all tag combinations, from one definition. */
function collectionsFamily(name, type, rt) {
  const imp = parseCollectionImport(name);
  if (!imp) return null;
  const expected = collectionSignature(imp);
  if (type && !sameSig(type, expected)) {
    throw new LoadError(`import vera.${name} is declared as ${sigText(type)} but Vera 0.2.3 gives it ${sigText(expected)}`);
  }
  const { kind } = imp;
  return (...args) => withHeap(rt, name, (h) => {
    rt.stats[kind === 'Map' ? 'mapOps' : 'setOps'] += 1;
    const w = args[0] >>> 0;
    switch (imp.op) {
      case 'new':
        return collection.new(h, kind);
      case 'size':
        return BigInt(collection.size(h, kind, w));
      case 'insert': {
        const [key, next] = takeField(imp.k, args, 1);
        const val = kind === 'Set' ? ZERO : takeField(imp.v, args, next)[0];
        const vtag = kind === 'Set' ? 'i' : imp.v;
        return collection.insert(h, kind, w, imp.k, key, vtag, val) | 0;
      }
      case 'get': {
        const [key] = takeField(imp.k, args, 1);
        const val = collection.get(h, kind, w, imp.k, key);
        return (val === null ? allocAdt(h, NONE, Payload.empty) : allocAdt(h, SOME, Payload.fromField(imp.v, val))) | 0;
      }
      case 'contains': {
        const [key] = takeField(imp.k, args, 1);
        return collection.get(h, kind, w, imp.k, key) === null ? 0 : 1;
      }
      case 'remove': {
        const [key] = takeField(imp.k, args, 1);
        return collection.remove(h, kind, w, imp.k, key) | 0;
      }
      default: {
        const keys = imp.op === 'keys';
        const column = collection.entries(h, kind, w).map(([k, v]) => (keys ? k : v));
        return h.withRoots([w], () => allocFieldArray(h, keys ? imp.k : imp.v, column)).map(i32);
      }
    }
  });
}

const handles = {
  host_decref_handle: (_n, _t, rt) => (kind, handle) => {
    const release = rt.releases[kind];
    if (release) release(handle >>> 0);
  },
  attach_bucket_to_wrapper: () => () => {},
};

function randomBelow(range) { // range: BigInt > 0, uniform by rejection
  const bits = range.toString(2).length;
  for (;;) {
    let r = 0n;
    for (let got = 0; got < bits; got += 32) r = (r << 32n) | BigInt((Math.random() * 2 ** 32) >>> 0);
    r &= (1n << BigInt(bits)) - 1n;
    if (r < range) return r;
  }
}

const MATH = { log: Math.log, log2: Math.log2, log10: Math.log10, sin: Math.sin, cos: Math.cos, tan: Math.tan, asin: Math.asin, acos: Math.acos, atan: Math.atan };

function numericFamily(name) {
  if (MATH[name]) { const f = MATH[name]; return (x) => f(x); }
  switch (name) {
    case 'atan2': return (y, x) => Math.atan2(y, x);
    case 'random_int': return (low, high) => {
      if (low > high) throw new HostTrap('refused', `empty range in randint(${low}, ${high})`);
      return BigInt.asIntN(64, low + randomBelow(high - low + 1n));
    };
    case 'random_float': return () => Math.random();
    case 'random_bool': return () => (Math.random() < 0.5 ? 1 : 0);
    // Vera 0.2.4+: the seed of the module's own hash tries (numeric.rs).
    case 'hash_key': return () => {
      const words = new Uint32Array(2);
      if (globalThis.crypto && globalThis.crypto.getRandomValues) globalThis.crypto.getRandomValues(words);
      else words.set([(Math.random() * 2 ** 32) >>> 0, (Math.random() * 2 ** 32) >>> 0]);
      return BigInt.asIntN(64, (BigInt(words[1]) << 32n) | BigInt(words[0]));
    };
    default: return null;
  }
}

const table = (t) => (name, type, rt) => (Object.prototype.hasOwnProperty.call(t, name) ? t[name](name, type, rt) : null);

/** Every family, in the order names are offered (families/mod.rs). */
const FAMILIES = [
  ['io', table(io)],
  ['checks', table(checks)],
  ['state', stateFamily],
  ['collections', collectionsFamily],
  ['handles', table(handles)],
  ['numeric', numericFamily],
  // json and decimal are appended below, where they are defined.
];

// ---------------------------------------------------------------------------
// Traps (trap.rs): the same kinds and descriptions as the Rust host.
// ---------------------------------------------------------------------------

/** Vera 0.2.3's trap kinds: [name, code passed to vera.trap, description]. */
export const TRAP_KINDS = [
  ['overflow', 1, 'Integer overflow'],
  ['nat_guard', 2, 'Negative value bound into a @Nat slot'],
  ['nat_underflow', 4, '@Nat subtraction would be negative'],
  ['assertion_failed', 5, 'Assertion failed'],
  ['index_out_of_bounds', 6, 'Array index out of bounds'],
  ['string_index_out_of_bounds', 7, 'String index out of bounds'],
  ['float_conversion', 8, 'Float64 value outside the @Int range'],
  ['heap_exhausted', 9, 'Heap exhausted'],
  ['contract_violation', 0, 'Contract violation'],
  ['divide_by_zero', 0, 'Integer division by zero'],
  ['out_of_bounds', 0, 'Out-of-bounds memory access'],
  ['stack_exhausted', 0, 'WASM call stack exhausted'],
  ['unreachable', 0, 'Reached `unreachable` WASM instruction'],
  ['uncaught_exception', 10, 'Uncaught exception'],
  ['host_error', 0, 'Host binding error'],
  ['unknown', 0, 'Unclassified trap'],
];

const description = (kind) => (TRAP_KINDS.find((k) => k[0] === kind) || [0, 0, 'Unclassified trap'])[2];

/** The engine's own trap messages (V8 wording) and the kinds they are. */
const NATIVE_TRAPS = [
  ['divide by zero', 'divide_by_zero'],
  ['remainder by zero', 'divide_by_zero'],
  ['divide result unrepresentable', 'overflow'],
  ['float unrepresentable in integer range', 'float_conversion'],
  ['memory access out of bounds', 'out_of_bounds'],
  ['unreachable', 'unreachable'],
];

function nativeKind(e) {
  if (e instanceof RangeError && /call stack/i.test(e.message)) return 'stack_exhausted';
  if (typeof WebAssembly.Exception === 'function' && e instanceof WebAssembly.Exception) return 'uncaught_exception';
  if (!(e instanceof WebAssembly.RuntimeError)) return null;
  const msg = String(e.message).toLowerCase();
  const hit = NATIVE_TRAPS.find(([needle]) => msg.includes(needle));
  return hit ? hit[1] : null;
}

/** The wasm functions on the stack, innermost first (from the JS stack text). */
function wasmFrames(e) {
  const stack = e && typeof e.stack === 'string' ? e.stack : '';
  const frames = [];
  for (const line of stack.split('\n')) {
    const m = /^\s*at (?:\S+\.)?(\S+) \((?:wasm:\/\/|.*wasm-function)/.exec(line) || /^\s*(\S+)@.*wasm-function/.exec(line);
    if (m && !/^wasm-function\[/.test(m[1])) frames.push(m[1].replace(/^\$/, ''));
  }
  return frames;
}

/** How a run that did not return ended: {exit: code} or {trap: {kind, message, frames}}. */
function classify(e, rt) {
  const frames = wasmFrames(e);
  const trap = (kind, message) => ({ trap: { kind, message, frames } });
  if (e instanceof HostTrap) {
    if (e.kind === 'exit') return { exit: e.code };
    if (e.kind === 'refused') return trap('host_error', e.message);
    if (e.kind === 'limit') return trap('limit', e.message);
    const kind = e.source.kind;
    return trap(kind, `${description(kind)} (vera.${e.imp}: ${e.source.message})`);
  }
  if (e instanceof LoadError) return trap('host_error', e.message);
  if (rt.violation !== null) return trap('contract_violation', rt.violation);
  if (rt.trapSignal !== null) {
    const { code, message } = rt.trapSignal;
    const row = TRAP_KINDS.find((k) => k[1] === code && code !== 0);
    if (row) return trap(row[0], message === '' ? row[2] : message);
  }
  const kind = nativeKind(e);
  if (kind) return trap(kind, description(kind));
  if (e instanceof WebAssembly.RuntimeError) return trap('unknown', String(e.message));
  return trap('host_error', `${description('host_error')} (${e && e.message ? e.message : String(e)})`);
}

// ---------------------------------------------------------------------------
// Printing values as `vera run` 0.2.3 does (format.rs): a Float64 as
// Python's repr, by the core (vera_families::format), or without a core
// as JavaScript's String(x)
// ---------------------------------------------------------------------------

/** The line `vera run` prints for a returned value, or null (Unit). */
export function displayValue(v) {
  switch (v.type) {
    case 'unit': return null;
    case 'int': return v.value.toString();
    case 'float': return v.text ?? String(v.value);
    case 'word': return String(v.value);
    default: return v.value;
  }
}

// ---------------------------------------------------------------------------
// Arguments parsed like `vera run` does (lib.rs parse_args)
// ---------------------------------------------------------------------------

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Rust's `str::parse::<i64>`: the value or the ParseIntError text. */
function parseI64(text) {
  if (text === '') return { error: 'cannot parse integer from empty string' };
  if (!/^[+-]?[0-9]+$/.test(text)) return { error: 'invalid digit found in string' };
  const v = BigInt(text);
  if (v > I64_MAX) return { error: 'number too large to fit in target type' };
  if (v < I64_MIN) return { error: 'number too small to fit in target type' };
  return { value: v };
}

function parsePythonFloat(text) {
  const t = text.trim().toLowerCase().replaceAll('_', '');
  if (['inf', '+inf', 'infinity', '+infinity'].includes(t)) return Infinity;
  if (['-inf', '-infinity'].includes(t)) return -Infinity;
  if (['nan', '+nan', '-nan'].includes(t)) return NaN;
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$/.test(t)) return null;
  return Number(t);
}

function parseWord(text) {
  const t = text.toLowerCase();
  if (['true', 'yes', '1'].includes(t)) return 1;
  if (['false', 'no', '0'].includes(t)) return 0;
  const p = parseI64(t.trim());
  return p.value !== undefined && p.value >= -(2n ** 31n) && p.value < 2n ** 31n ? Number(p.value) : null;
}

const arityMessage = (name, n, m) => `Function '${name}' expects ${n} argument${n === 1 ? '' : 's'} but ${m} ${m === 1 ? 'was' : 'were'} provided.`;

class Usage extends Error {}

function parseArgs(rt, name, params, raw) {
  const stringsNeeded = Math.max(0, params.length - raw.length);
  const out = [];
  let pairsLeft = stringsNeeded;
  let i = 0;
  raw.forEach((text, n) => {
    const ty = params[i];
    if (ty === undefined) throw new Usage(arityMessage(name, params.length - stringsNeeded, raw.length));
    const invalid = (e, t) => new Usage(`Argument ${pythonReprStr(text)} is not valid for parameter type '${t}': ${e}`);
    if (ty === 'i64') {
      const p = parseI64(text.trim().replaceAll('_', ''));
      if (p.error) throw invalid(p.error, 'i64');
      out.push(p.value);
    } else if (ty === 'f64') {
      const v = parsePythonFloat(text);
      if (v === null) throw invalid('could not convert string to float', 'f64');
      out.push(v);
    } else if (ty === 'i32' && pairsLeft > 0 && params[i + 1] === 'i32'
      && (parseWord(text) === null || params.length - i - 1 < raw.length - n - 1 + pairsLeft)) {
      pairsLeft -= 1;
      const bytes = encoder.encode(text);
      if (bytes.length === 0) out.push(0, 0);
      else {
        if (!rt.exports.alloc) throw new Usage("Cannot allocate String argument: module has no 'memory' or 'alloc' export");
        const ptr = rt.exports.alloc(bytes.length) >>> 0;
        new Uint8Array(rt.exports.memory.buffer).set(bytes, ptr);
        out.push(ptr | 0, bytes.length);
      }
      i += 1;
    } else if (ty === 'i32') {
      const v = parseWord(text);
      if (v === null) throw invalid('invalid literal for int()', 'i32');
      out.push(v);
    } else {
      throw new Usage(`parameter type ${ty} is not supported`);
    }
    i += 1;
  });
  if (out.length !== params.length) throw new Usage(arityMessage(name, params.length - stringsNeeded, raw.length));
  return out;
}

// ---------------------------------------------------------------------------
// Standard input over a byte source
// ---------------------------------------------------------------------------

class Stdin {
  constructor(source) {
    this.buf = new Uint8Array(0);
    this.at = 0;
    this.done = false;
    if (typeof source === 'function') this.next = source;
    else if (source === 'prompt') {
      // A page's user types each line (Cancel is end of input).
      this.next = () => {
        const line = typeof globalThis.prompt === 'function' ? globalThis.prompt('Input:') : null;
        return line === null ? null : encoder.encode(line + '\n');
      };
    } else {
      let data = source == null ? new Uint8Array(0) : typeof source === 'string' ? encoder.encode(source) : source;
      this.next = () => { const d = data; data = null; return d; };
    }
  }
  fill() {
    if (this.at < this.buf.length) return true;
    if (this.done) return false;
    const chunk = this.next();
    if (!chunk || chunk.length === 0) { this.done = true; return false; }
    this.buf = chunk;
    this.at = 0;
    return true;
  }
  readUntil(delim) {
    const parts = [];
    let total = 0;
    while (this.fill()) {
      const end = this.buf.indexOf(delim, this.at);
      const stop = end < 0 ? this.buf.length : end + 1;
      const part = this.buf.slice(this.at, stop);
      parts.push(part);
      total += part.length;
      this.at = stop;
      if (end >= 0) break;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  /** One UTF-8 character (an invalid sequence reads as U+FFFD), or null at EOF. */
  readChar() {
    if (!this.fill()) return null;
    const first = this.buf[this.at++];
    const width = first < 0x80 ? 1 : first >= 0xc0 && first <= 0xdf ? 2 : first >= 0xe0 && first <= 0xef ? 3
      : first >= 0xf0 && first <= 0xf7 ? 4 : 1;
    const bytes = [first];
    for (let k = 1; k < width; k++) {
      if (!this.fill() || (this.buf[this.at] & 0xc0) !== 0x80) break;
      bytes.push(this.buf[this.at++]);
    }
    return String.fromCodePoint(decoder.decode(new Uint8Array(bytes)).codePointAt(0));
  }
}

// ---------------------------------------------------------------------------
// Loading and running
// ---------------------------------------------------------------------------

const RUNTIME_EXPORTS = ['alloc', 'register_wrapper', 'gc_collect'];
/** The prefix Vera 0.2.4 and later put on the runtime's exports (`vera.memory`, ...). */
const RUNTIME_PREFIX = 'vera.';
const RUNTIME_GLOBALS = ['memory', 'alloc', 'gc_sp', 'gc_stack_limit', 'heap_ptr', 'register_wrapper', 'gc_collect'];

const sameType = (t, params, results) => !!t && t.params.join() === params.join() && t.results.join() === results.join();

/**
 * The exports the host uses, each by its Vera 0.2.3 name or with the
 * `vera.` prefix of Vera 0.2.4 and later, plus `moduleMaps` when the
 * module keeps its own maps (guest.rs's ModuleMaps): the exports through
 * which JSON objects are built (`map_from_arrays$ks_v<t>`) and read
 * (`map_keys$ks`, `map_values$v<t>`), each only with the type Vera gives it.
 */
function runtimeExports(ex, sigs) {
  const out = { ...ex };
  for (const n of RUNTIME_GLOBALS) {
    if (out[n] === undefined && ex[RUNTIME_PREFIX + n] !== undefined) out[n] = ex[RUNTIME_PREFIX + n];
  }
  const typed = (n, params, results) => {
    const e = sigs.exports.get(n);
    return e && e.kind === 0 && sameType(e.type, params, results) ? ex[n] : null;
  };
  const i4 = ['i32', 'i32', 'i32', 'i32'];
  const fromWord = typed('map_from_arrays$ks_vb', i4, ['i32']);
  const fromStr = typed('map_from_arrays$ks_vs', i4, ['i32']);
  const present = (n) => sigs.exports.has(n);
  out.moduleMaps = present('map_from_arrays$ks_vb') || present('map_from_arrays$ks_vs') ? {
    fromArraysWord: fromWord,
    fromArraysStr: fromStr,
    keys: typed('map_keys$ks', ['i32'], ['i32', 'i32']),
    valuesWord: typed('map_values$vb', ['i32'], ['i32', 'i32']),
    valuesStr: typed('map_values$vs', ['i32'], ['i32', 'i32']),
  } : null;
  return out;
}

/**
 * The Rust code shared with the CLI (crates/vera-browser-core) from the
 * bytes of browser/vera-core.wasm: `rewrite(bytes)` returns the module as
 * `vera-rt run` loads it and what was replaced ({bytes, overflowSafeMark,
 * sizeClasses, hostCollections: a 0.2.4+ module's own Map/Set code now
 * calls this runtime's bucket imports}; the bytes themselves when nothing
 * applies).
 */
export async function loadCore(coreBytes) {
  let instance;
  if (typeof Response !== 'undefined' && coreBytes instanceof Response) {
    // Compiled while it downloads; a server that does not say
    // application/wasm gets the bytes compiled afterwards.
    const copy = coreBytes.clone();
    try {
      ({ instance } = await WebAssembly.instantiateStreaming(coreBytes, {}));
    } catch {
      ({ instance } = await WebAssembly.instantiate(await copy.arrayBuffer(), {}));
    }
  } else {
    ({ instance } = await WebAssembly.instantiate(coreBytes, {}));
  }
  const core = instance.exports;
  return {
    rewrite(bytes) {
      const at = core.vera_core_alloc(bytes.length);
      new Uint8Array(core.memory.buffer, at, bytes.length).set(bytes);
      const n = core.vera_core_rewrite(at, bytes.length);
      core.vera_core_free(at, bytes.length);
      if (n === 0) return { bytes, overflowSafeMark: false, sizeClasses: false, hostCollections: false };
      const flags = core.vera_core_result_flags();
      return {
        bytes: new Uint8Array(core.memory.buffer, core.vera_core_result_ptr(), n).slice(),
        overflowSafeMark: (flags & 1) !== 0,
        sizeClasses: (flags & 2) !== 0,
        hostCollections: (flags & 4) !== 0,
      };
    },
    /** Host import `op` (the core's families::Op) on wire-encoded `args`: the answer's bytes. */
    call(op, args) {
      const at = core.vera_core_alloc(args.length);
      new Uint8Array(core.memory.buffer, at, args.length).set(args);
      const n = core.vera_core_call(op, at, args.length);
      core.vera_core_free(at, args.length);
      return new Uint8Array(core.memory.buffer, core.vera_core_result_ptr(), n).slice();
    },
  };
}

/** Compiles `bytes` and checks every import; throws LoadError. */
export async function load(bytes, options = {}) {
  bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (!(bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d)) {
    throw new LoadError('not a valid WebAssembly module: it does not start with the \\0asm magic number');
  }
  let module;
  // As the CLI: should the rewritten module not compile, the module as
  // given still runs.
  if (options.core && !options.asIs) {
    const rewritten = options.core.rewrite(bytes);
    if (rewritten.bytes !== bytes) {
      try {
        module = await WebAssembly.compile(rewritten.bytes);
        bytes = rewritten.bytes;
      } catch {
        module = undefined;
      }
    }
  }
  try {
    module ??= await WebAssembly.compile(bytes);
  } catch (e) {
    throw new LoadError(`not a valid WebAssembly module: ${e.message}`);
  }
  const sigs = readSignatures(bytes);
  // Probe every import against the families once, so a missing one is
  // refused at load, naming each.
  const missing = [];
  const probe = newRunState(options);
  for (const imp of sigs.imports) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.kind !== 'function') missing.push(`${name} (not a function)`);
    else if (imp.module !== 'vera' || defineImport(imp.name, imp.type, probe) === null) missing.push(name);
  }
  if (missing.length) {
    const needsCore = !options.core && missing.some((n) => coreImport(n.replace(/^vera\./, '')));
    const hint = needsCore ? ' (regex, Markdown, HTML, JSON, Decimal and Http are computed by browser/vera-core.wasm: pass `core`, from loadCore())' : '';
    throw new LoadError(`the module imports ${missing.length} function(s) vera-rt does not provide: ${missing.join(', ')}${hint}`);
  }
  return new Program(module, sigs, options);
}

function defineImport(name, type, rt) {
  for (const [, definer] of FAMILIES) {
    const f = definer(name, type, rt);
    if (f) return f;
  }
  return null;
}

function newRunState(options) {
  const textOut = (cb, flag, captured) => (text) => {
    if (text.length === 0) return;
    rt[flag] = text.endsWith('\n');
    captured.push(text);
    if (cb) cb(text);
  };
  const rt = {
    options,
    args: (options.args || []).map(String),
    stdin: new Stdin(options.stdin),
    violation: null,
    trapSignal: null,
    cells: new Map(),
    releases: {},
    ext: {},
    stats: { mapOps: 0, setOps: 0 },
    stdoutEndsNewline: null,
    stderrEndsNewline: null,
    exports: {},
    heap: null,
  };
  rt.captured = { stdout: [], stderr: [] };
  rt.out = textOut(options.stdout, 'stdoutEndsNewline', rt.captured.stdout);
  rt.err = textOut(options.stderr, 'stderrEndsNewline', rt.captured.stderr);
  return rt;
}

function guestHeap(rt) {
  const ex = rt.exports;
  const limit = ex.gc_stack_limit ? ex.gc_stack_limit.value >>> 0 : null;
  const heap = new Heap({
    buffer: () => {
      if (!ex.memory) throw new GuestError('host_error', 'the module exports no `memory`');
      return ex.memory.buffer;
    },
    allocRaw: (size) => {
      if (!ex.alloc) throw new GuestError('host_error', 'the module exports no `alloc`');
      return ex.alloc(size | 0);
    },
    shadowStack: () => (ex.gc_sp && limit !== null ? [ex.gc_sp.value >>> 0, limit] : null),
    setGcSp: (sp) => { if (ex.gc_sp) ex.gc_sp.value = sp | 0; },
  });
  heap.moduleMaps = ex.moduleMaps;
  return heap;
}

class Program {
  constructor(module, sigs, options) {
    this.module = module;
    this.sigs = sigs;
    this.options = options;
  }

  /** Functions a user can call, in export order. */
  entryPoints() {
    // `$` is in no Vera function's name, only in the map helpers
    // (`map_from_arrays$ks_vb`...) Vera 0.2.4+ exports.
    return [...this.sigs.exports]
      .filter(([n, e]) => e.kind === 0 && !RUNTIME_EXPORTS.includes(n) && !n.startsWith(RUNTIME_PREFIX) && !n.includes('$'))
      .map(([n]) => n);
  }

  select(wanted) {
    const entries = this.entryPoints();
    const available = entries.length ? entries.join(', ') : '(none)';
    if (wanted != null) {
      if (entries.includes(wanted)) return [wanted, null];
      throw new Usage(`Function '${wanted}' not found in exports. Available: ${available}`);
    }
    if (entries.includes('main')) return ['main', null];
    if (entries.length) return [entries[0], `Note: no 'main' declared — running public function '${entries[0]}'.`];
    throw new Usage('No exported functions to call');
  }

  /** Instantiates the module and calls `fnName` (default main); returns a report. */
  async run(fnName = null) {
    const rt = newRunState(this.options);
    const report = { outcome: null, note: null, stats: rt.stats, rt };
    const done = (outcome) => {
      report.outcome = outcome;
      report.stdoutEndsNewline = rt.stdoutEndsNewline;
      report.stderrEndsNewline = rt.stderrEndsNewline;
      report.output = { stdout: rt.captured.stdout.join(''), stderr: rt.captured.stderr.join('') };
      return report;
    };
    let name;
    try {
      [name, report.note] = this.select(fnName);
    } catch (e) {
      return done({ trap: { kind: 'usage', message: e.message, frames: [] } });
    }
    const imports = { vera: {} };
    for (const imp of this.sigs.imports) {
      if (imp.module === 'vera' && imp.kind === 'function') imports.vera[imp.name] = defineImport(imp.name, imp.type, rt);
    }
    let instance;
    try {
      instance = await WebAssembly.instantiate(this.module, imports);
    } catch (e) {
      return done(classify(e, rt));
    }
    rt.exports = runtimeExports(instance.exports, this.sigs);
    rt.heap = guestHeap(rt);
    const sig = this.sigs.exports.get(name).type || { params: [], results: [] };
    let params;
    try {
      params = parseArgs(rt, name, sig.params, rt.args);
    } catch (e) {
      if (e instanceof Usage) return done({ trap: { kind: 'usage', message: e.message, frames: [] } });
      return done(classify(e, rt));
    }
    let result;
    try {
      result = instance.exports[name](...params);
    } catch (e) {
      return done(classify(e, rt));
    }
    return done({ value: resultValue(rt, sig.results, result) });
  }
}

function resultValue(rt, types, result) {
  switch (types.join(',')) {
    case '': return { type: 'unit' };
    case 'i64': return { type: 'int', value: result };
    case 'f64': {
      if (!rt.options.core) return { type: 'float', value: result };
      const w = new WireWriter();
      w.wide(Field.float(result));
      const out = coreCall(rt, 'repr', 40, w);
      return { type: 'float', value: result, text: decoder.decode(out.subarray(6)) };
    }
    case 'i32': return { type: 'word', value: result };
    case 'i32,i32': {
      const [p, l] = result;
      try {
        return { type: 'str', value: readString(rt.heap, p, l) };
      } catch {
        return { type: 'word', value: p };
      }
    }
    default: return { type: 'str', value: String(result) };
  }
}

/**
 * Writes what `vera-rt run` writes after the program ran and returns its
 * exit code: the note, missing final newlines, the value (when the
 * program printed nothing), or `Error: ...` with the backtrace.
 */
export function finish(report, { stdout = () => {}, stderr = () => {} } = {}) {
  if (report.note) stderr(report.note + '\n');
  if (report.stdoutEndsNewline === false) stdout('\n');
  if (report.stderrEndsNewline === false) stderr('\n');
  const o = report.outcome;
  if (o.value) {
    if (report.stdoutEndsNewline == null) {
      const line = displayValue(o.value);
      if (line !== null) stdout(line + '\n');
    }
    return 0;
  }
  if (o.exit !== undefined) return Number(BigInt.asUintN(8, BigInt(o.exit)));
  const { kind, message, frames } = o.trap;
  let text = `Error: ${message}\n`;
  if (frames.length && kind !== 'usage') {
    text += 'Backtrace (innermost first):\n' + frames.map((f) => `  in ${f}\n`).join('');
  }
  stderr(text);
  return 1;
}

/** load + run + finish, as `vera-rt run NAME` does; returns the exit code. */
export async function runModule(bytes, options = {}, label = 'module.wasm') {
  let program;
  try {
    program = await load(bytes, options);
  } catch (e) {
    if (!(e instanceof LoadError)) throw e;
    if (options.stderr) options.stderr(`Error: ${label}: ${e.message}\n`);
    return 1;
  }
  const report = await program.run(options.fn ?? null);
  return finish(report, { stdout: options.stdout, stderr: options.stderr });
}

// ---------------------------------------------------------------------------
// JSON (families/json.rs): json_parse is Python's json.loads with Vera's
// accept-domain gates, json_stringify Vera's canonical form, both computed
// by the core (vera_families::json, the CLI's parser and emitter); the
// parsed tree is built by buildWire, a tree to write read by readJson.
// Json ADT tags: JNull 0,
// JBool 1, JNumber 2 (f64 @+8), JString 3, JArray 4 (4-byte cells),
// JObject 5 (a Map<String, Json> wrapper @+4, built in guest memory).
// ---------------------------------------------------------------------------

const JNULL = 0, JBOOL = 1, JNUMBER = 2, JSTRING = 3, JARRAY = 4, JOBJECT = 5;
export const JSON_MAX_DEPTH = 1000;

/** A module map export the host needs, or the error that names it. */
function neededExport(f, name) {
  if (!f) {
    throw new GuestError('host_error', `the module keeps its own maps but does not export \`${name}\` (with the type Vera gives it), which vera-rt builds or reads them through`);
  }
  return f;
}

/**
 * A `Map<String, V>` of `entries` ([key field, value field], the blocks
 * they point to kept alive by the caller): a bucket (LAYOUT.md), or for a
 * module that keeps its own maps (Vera 0.2.4+) the module's
 * `map_from_arrays$ks_v<t>` over a keys array of (ptr, len) cells and a
 * values array (`vtag` 's': 8-byte String cells, else 4-byte pointers), as
 * guest.rs's build_string_map. The result is not rooted.
 */
function buildStringMap(h, vtag, entries) {
  const maps = h.moduleMaps;
  if (!maps) return collection.fromEntries(h, 'Map', 's', entries);
  const build = vtag === 's' ? neededExport(maps.fromArraysStr, 'map_from_arrays$ks_vs')
    : neededExport(maps.fromArraysWord, 'map_from_arrays$ks_vb');
  const cell = vtag === 's' ? 8 : 4;
  const n = entries.length;
  let keys = 0, values = 0;
  if (n > 0) {
    keys = h.alloc(n * 8);
    values = h.withRoots([keys], () => h.alloc(n * cell));
    entries.forEach(([k, v], i) => {
      h.setField(keys + 8 * i, k);
      if (cell === 8) h.setField(values + 8 * i, v);
      else h.setU32(values + 4 * i, v.lo);
    });
  }
  return h.withRoots([keys, values], () => build(keys | 0, n, values | 0, n)) >>> 0;
}

/**
 * The entries of a `Map<String, V>` in insertion order: from its bucket,
 * or for a module that keeps its own maps through its `map_keys$ks` and
 * `map_values$v<t>` (guest.rs's string_map_entries).
 */
function stringMapEntries(h, vtag, w) {
  const maps = h.moduleMaps;
  if (!maps) return collection.entries(h, 'Map', w);
  const keysOf = neededExport(maps.keys, 'map_keys$ks');
  const valuesOf = vtag === 's' ? neededExport(maps.valuesStr, 'map_values$vs')
    : neededExport(maps.valuesWord, 'map_values$vb');
  const cell = vtag === 's' ? 8 : 4;
  return h.withRoots([w], () => {
    const [keys, n] = keysOf(w | 0);
    const [values, m] = h.withRoots([keys >>> 0], () => valuesOf(w | 0));
    if (n < 0 || m !== n) throw GuestError.badLength('map_keys$ks/map_values result', Math.min(n, m));
    const out = [];
    for (let i = 0; i < n; i++) {
      const key = h.field((keys >>> 0) + 8 * i);
      const at = (values >>> 0) + cell * i;
      out.push([key, cell === 8 ? h.field(at) : Field.word(h.u32(at))]);
    }
    return out;
  });
}

/**
 * A `Json` tree in the wire encoding (json.rs's layouts): each block by its
 * tag (an unknown tag as an empty block, which the emitter writes as
 * null, as the CLI reads it); deeper than JSON_MAX_DEPTH is Python's
 * RecursionError, which the run does not survive.
 */
function readJson(h, w, root) {
  const visit = treeVisitor(h, 'Json value');
  const node = (ptr, depth) => {
    if (depth > JSON_MAX_DEPTH) throw new HostTrap('refused', 'maximum recursion depth exceeded while calling a Python object');
    visit(ptr, 0);
    const tag = h.u32(ptr);
    switch (tag) {
      case JNULL: w.block(tag, 0); break;
      case JBOOL: w.block(tag, 1); w.field(4); w.word(h.u32(ptr + 4)); break;
      case JNUMBER: w.block(tag, 1); w.field(8); w.wide(h.field(ptr + 8)); break;
      case JSTRING: w.block(tag, 1); w.field(4); guestStr(h, w, h.u32(ptr + 4), h.u32(ptr + 8)); break;
      case JARRAY: w.block(tag, 1); w.field(4); readCells(h, w, ptr + 4, 4, (c) => node(h.u32(c), depth + 1)); break;
      case JOBJECT: {
        const entries = stringMapEntries(h, 'b', h.u32(ptr + 4));
        w.block(tag, 1);
        w.field(4);
        w.map('b', entries.length);
        for (const [k, v] of entries) {
          guestStr(h, w, k.lo, k.hi);
          node(v.lo, depth + 1);
        }
        break;
      }
      default: w.block(tag, 0);
    }
  };
  h.withRoots([root >>> 0], () => node(root >>> 0, 0));
}

const json = {
  json_parse: (name, _t, rt) => (p, l) => {
    const args = coreArgs(rt, name, (h, w) => guestStr(h, w, p, l));
    return coreAnswer(rt, name, 60, args).w | 0;
  },
  json_stringify: (name, _t, rt) => (ptr) => {
    const args = coreArgs(rt, name, (h, w) => readJson(h, w, ptr));
    const v = coreAnswer(rt, name, 61, args);
    return [v.p | 0, v.l | 0];
  },
};
FAMILIES.push(['json', (name, type, rt) => (rt.options.core && Object.prototype.hasOwnProperty.call(json, name)
  ? json[name](name, type, rt) : null)]);

// ---------------------------------------------------------------------------
// Regex, Markdown and HTML: computed by browser/vera-core.wasm, the CLI's
// own Rust (crates/vera-families through crates/vera-browser-core), so the
// answers are the CLI's byte for byte (Python's `re`, Vera's Markdown
// parser, `html.parser`). The arguments, and the guest trees an import
// reads, go to the core in its wire encoding
// (crates/vera-browser-core/src/wire.rs); the answer comes back in the same
// encoding and buildWire writes it into guest memory with the builders
// above (buckets for attribute maps, or the module's own map exports).
// Without the core these imports are not provided.
// ---------------------------------------------------------------------------

const W_STR = 1, W_WORD = 2, W_WIDE = 3, W_BLOCK = 4, W_ARRAY = 5, W_MAP = 6;

/** Writes values in the core's wire encoding. */
class WireWriter {
  constructor() {
    this.buf = new Uint8Array(256);
    this.dv = new DataView(this.buf.buffer);
    this.n = 0;
  }
  room(k) {
    if (this.n + k <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.n + k));
    grown.set(this.buf.subarray(0, this.n));
    this.buf = grown;
    this.dv = new DataView(grown.buffer);
  }
  byte(v) { this.room(1); this.buf[this.n++] = v; }
  u32(v) { this.room(4); this.dv.setUint32(this.n, v >>> 0, true); this.n += 4; }
  /** A String from its UTF-8 bytes (the core reads invalid UTF-8 as U+FFFD, as the CLI). */
  str(bytes) {
    if (typeof bytes === 'string') bytes = encoder.encode(bytes);
    this.byte(W_STR);
    this.u32(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.n);
    this.n += bytes.length;
  }
  /** Bytes already in the encoding (a value the core gave). */
  raw(bytes) { this.room(bytes.length); this.buf.set(bytes, this.n); this.n += bytes.length; }
  word(v) { this.byte(W_WORD); this.u32(v); }
  wide(f) { this.byte(W_WIDE); this.u32(f.lo); this.u32(f.hi); }
  block(tag, n) { this.byte(W_BLOCK); this.u32(0); this.u32(tag); this.u32(n); }
  field(offset) { this.u32(offset); }
  array(cell, n) { this.byte(W_ARRAY); this.u32(cell); this.u32(n); }
  map(vtag, n) { this.byte(W_MAP); this.byte(vtag.charCodeAt(0)); this.u32(n); }
  bytes() { return this.buf.subarray(0, this.n); }
}

/**
 * Builds the wire value at `bytes[from..]` in guest memory: {w} (a word or
 * pointer), {p, l} (a String or Array) or {lo, hi} (an i64 or f64). Every
 * block built and not yet stored in its parent is held on the shadow
 * stack while the next is allocated; the result is not rooted.
 */
function buildWire(h, bytes, from) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = from;
  const u32 = () => { const v = dv.getUint32(at, true); at += 4; return v; };
  const held = [];
  const alloc = (size) => h.withRoots(held, () => h.alloc(size));
  const hold = (v) => {
    if (v.p) held.push(v.p);
    else if (v.w) held.push(v.w);
  };
  const put = (ptr, cell, v) => {
    if (v.p !== undefined) {
      h.setU32(ptr, v.p);
      if (cell === 8) h.setU32(ptr + 4, v.l);
    } else if (v.w !== undefined) {
      if (cell === 1) h.write(ptr, [v.w & 0xff]);
      else h.setU32(ptr, v.w);
    } else {
      h.setField(ptr, v);
    }
  };
  const value = () => {
    const kind = bytes[at++];
    switch (kind) {
      case W_STR: {
        const n = u32();
        const text = bytes.subarray(at, at + n);
        at += n;
        if (n === 0) return { p: 0, l: 0 };
        const p = alloc(n);
        h.write(p, text);
        return { p, l: n };
      }
      case W_WORD: return { w: u32() };
      case W_WIDE: { const lo = u32(); return { lo, hi: u32() }; }
      case W_BLOCK: {
        const size = u32(), tag = u32(), n = u32();
        const mark = held.length;
        const fields = [];
        for (let i = 0; i < n; i++) {
          const offset = u32();
          const v = value();
          hold(v);
          fields.push([offset, v]);
        }
        const ptr = alloc(size);
        held.length = mark;
        h.fill(ptr, size, 0);
        h.setU32(ptr, tag);
        for (const [offset, v] of fields) put(ptr + offset, 8, v);
        return { w: ptr };
      }
      case W_ARRAY: {
        const cell = u32(), n = u32();
        if (n === 0) return { p: 0, l: 0 };
        const backing = alloc(n * cell);
        h.fill(backing, n * cell, 0);
        held.push(backing);
        for (let i = 0; i < n; i++) put(backing + cell * i, cell, value());
        held.pop();
        return { p: backing, l: n };
      }
      case W_MAP: {
        const vtag = String.fromCharCode(bytes[at++]);
        const n = u32();
        // Keys and values go into a scratch array first, which keeps them
        // alive while the map is built (as html::write_attrs does).
        const scratch = n === 0 ? 0 : alloc(16 * n);
        if (scratch) { h.fill(scratch, 16 * n, 0); held.push(scratch); }
        for (let i = 0; i < n; i++) {
          put(scratch + 16 * i, 8, value());
          put(scratch + 16 * i + 8, 8, value());
        }
        const entries = [];
        for (let i = 0; i < n; i++) {
          const v = h.field(scratch + 16 * i + 8);
          entries.push([h.field(scratch + 16 * i), vtag === 's' ? v : Field.word(v.lo)]);
        }
        const map = h.withRoots(held, () => buildStringMap(h, vtag, entries));
        if (scratch) held.pop();
        return { w: map };
      }
      default: throw new GuestError('host_error', `vera-core.wasm answered an unknown value kind ${kind}`);
    }
  };
  return value();
}

/** Calls the core's `op` on `args` (a WireWriter); the answer's bytes, or the trap it ends in. */
function coreCall(rt, imp, op, args) {
  const out = rt.options.core.call(op, args.bytes());
  if (out[0] === 0) return out;
  const message = decoder.decode(out.subarray(1));
  if (out[0] === 1) throw new HostTrap('refused', message);
  if (out[0] === 2) throw new HostTrap('limit', message);
  throw new HostTrap('guest', `vera.${imp}: vera-core.wasm refused the input: ${message}`);
}

/** The answer of `op` built in guest memory. */
const coreAnswer = (rt, imp, op, args) => {
  const out = coreCall(rt, imp, op, args);
  return withHeap(rt, imp, (h) => buildWire(h, out, 1));
};

/** A guest String's bytes as a wire STR. */
const guestStr = (h, w, ptr, len) => w.str(strBytes(h, ptr >>> 0, len >>> 0).slice());

const MAX_TREE_DEPTH = 2000;

/**
 * Reads the guest tree at `ptr` with `node(ptr, depth)`, as md.rs and
 * html.rs read one: each node counted (a tree stored once has at most one
 * node per 4 bytes of memory; more means shared or cyclic nodes) and at
 * most MAX_TREE_DEPTH deep.
 */
function treeVisitor(h, what) {
  let left = Math.floor(h.size() / 4) + 1;
  return (ptr, depth) => {
    if (depth > MAX_TREE_DEPTH) throw GuestError.corrupt(what, ptr, 'nested too deeply');
    if (left-- <= 0) throw GuestError.corrupt(what, ptr, 'more nodes than memory holds (shared or cyclic nodes)');
  };
}

/** The `(ptr, len)` array at `at` of `cell`-byte cells, each read with `each(cellAddress)`. */
function readCells(h, w, at, cell, each) {
  const p = h.u32(at), n = h.u32(at + 4);
  if ((n | 0) < 0) throw GuestError.badLength('Array', n | 0);
  if (n > 0) h.check(p, n * cell);
  w.array(cell, n);
  for (let i = 0; i < n; i++) each(p + cell * i);
}

/** An `MdBlock` tree in the wire encoding (md.rs read_block's layouts). */
function readMd(h, w, root) {
  const visit = treeVisitor(h, 'Markdown value');
  const str = (at) => guestStr(h, w, h.u32(at), h.u32(at + 4));
  const inlines = (at, depth) => readCells(h, w, at, 4, (c) => inline(h.u32(c), depth + 1));
  const blocks = (at, depth) => readCells(h, w, at, 4, (c) => block(h.u32(c), depth + 1));
  const inline = (ptr, depth) => {
    visit(ptr, depth);
    const tag = h.u32(ptr);
    switch (tag) {
      case 0: case 1: w.block(tag, 1); w.field(4); str(ptr + 4); break;
      case 2: case 3: w.block(tag, 1); w.field(4); inlines(ptr + 4, depth); break;
      case 4: w.block(tag, 2); w.field(4); inlines(ptr + 4, depth); w.field(12); str(ptr + 12); break;
      case 5: w.block(tag, 2); w.field(4); str(ptr + 4); w.field(12); str(ptr + 12); break;
      default: throw GuestError.corrupt('Markdown value', ptr, `unknown MdInline tag ${tag}`);
    }
  };
  const block = (ptr, depth) => {
    visit(ptr, depth);
    const tag = h.u32(ptr);
    switch (tag) {
      case 0: w.block(tag, 1); w.field(4); inlines(ptr + 4, depth); break;
      case 1: w.block(tag, 2); w.field(8); w.wide(h.field(ptr + 8)); w.field(16); inlines(ptr + 16, depth); break;
      case 2: w.block(tag, 2); w.field(4); str(ptr + 4); w.field(12); str(ptr + 12); break;
      case 3: case 7: w.block(tag, 1); w.field(4); blocks(ptr + 4, depth); break;
      case 4:
        w.block(tag, 2);
        w.field(4);
        w.word(h.u32(ptr + 4));
        w.field(8);
        readCells(h, w, ptr + 8, 8, (item) => blocks(item, depth + 1));
        break;
      case 5: w.block(tag, 0); break;
      case 6:
        w.block(tag, 1);
        w.field(4);
        readCells(h, w, ptr + 4, 8, (row) => readCells(h, w, row, 8, (cell) => inlines(cell, depth + 1)));
        break;
      default: throw GuestError.corrupt('Markdown value', ptr, `unknown MdBlock tag ${tag}`);
    }
  };
  block(root >>> 0, 0);
}

/**
 * An `HtmlNode` tree in the wire encoding (html.rs read_node's layout);
 * the tree is held meanwhile, as reading a module's own attribute maps
 * calls into it.
 */
function readHtml(h, w, root) {
  const visit = treeVisitor(h, 'HtmlNode');
  const str = (p, l) => guestStr(h, w, p, l);
  const node = (ptr, depth) => {
    visit(ptr, depth);
    const tag = h.u32(ptr);
    if (tag === 1 || tag === 2) {
      w.block(tag, 1);
      w.field(4);
      str(h.u32(ptr + 4), h.u32(ptr + 8));
      return;
    }
    if (tag !== 0) throw GuestError.corrupt('HtmlNode', ptr, `unknown HtmlNode tag ${tag}`);
    w.block(0, 3);
    w.field(4);
    str(h.u32(ptr + 4), h.u32(ptr + 8));
    w.field(12);
    const attrs = stringMapEntries(h, 's', h.u32(ptr + 12));
    w.map('s', attrs.length);
    for (const [k, v] of attrs) {
      str(k.lo, k.hi);
      str(v.lo, v.hi);
    }
    w.field(16);
    const cp = h.u32(ptr + 16), cn = h.u32(ptr + 20);
    if ((cn | 0) < 0) throw GuestError.corrupt('HtmlNode', ptr, `child count ${cn | 0}`);
    if (cn > 0) h.check(cp, cn * 4);
    w.array(4, cn);
    for (let i = 0; i < cn; i++) node(h.u32(cp + 4 * i), depth + 1);
  };
  h.withRoots([root >>> 0], () => node(root >>> 0, 0));
}

/** The core's op numbers (crates/vera-browser-core/src/families.rs, Op). */
const CORE_OPS = {
  regex_match: 1, regex_find: 2, regex_find_all: 3, regex_replace: 4,
  md_parse: 10, md_render: 11, md_has_heading: 12, md_has_code_block: 13, md_extract_code_blocks: 14,
  html_parse: 20, html_to_string: 21, html_text: 22, html_query: 23,
};

/** The arguments of `imp` as the core takes them, read from guest memory. */
function coreArgs(rt, imp, body) {
  const w = new WireWriter();
  withHeap(rt, imp, (h) => body(h, w));
  return w;
}

const strings = (name) => (_n, _t, rt) => (...a) => {
  const args = coreArgs(rt, name, (h, w) => {
    for (let i = 0; i < a.length; i += 2) guestStr(h, w, a[i], a[i + 1]);
  });
  return coreAnswer(rt, name, CORE_OPS[name], args);
};
const word = (f) => (...a) => f(...a).w | 0;
const pair = (f) => (...a) => { const v = f(...a); return [v.p | 0, v.l | 0]; };

const coreFamilies = {
  regex_match: (n, t, rt) => word(strings(n)(n, t, rt)),
  regex_find: (n, t, rt) => word(strings(n)(n, t, rt)),
  regex_find_all: (n, t, rt) => word(strings(n)(n, t, rt)),
  regex_replace: (n, t, rt) => word(strings(n)(n, t, rt)),
  md_parse: (n, t, rt) => word(strings(n)(n, t, rt)),
  html_parse: (n, t, rt) => word(strings(n)(n, t, rt)),
  md_render: (n, _t, rt) => pair((ptr) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => readMd(h, w, ptr)))),
  md_has_heading: (n, _t, rt) => word((ptr, level) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => {
    readMd(h, w, ptr);
    w.wide(Field.int(level));
  }))),
  md_has_code_block: (n, _t, rt) => word((ptr, lp, ll) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => {
    readMd(h, w, ptr);
    guestStr(h, w, lp, ll);
  }))),
  md_extract_code_blocks: (n, _t, rt) => pair((ptr, lp, ll) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => {
    readMd(h, w, ptr);
    guestStr(h, w, lp, ll);
  }))),
  html_to_string: (n, _t, rt) => pair((ptr) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => readHtml(h, w, ptr)))),
  html_text: (n, _t, rt) => pair((ptr) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => readHtml(h, w, ptr)))),
  html_query: (n, _t, rt) => pair((ptr, sp, sl) => coreAnswer(rt, n, CORE_OPS[n], coreArgs(rt, n, (h, w) => {
    readHtml(h, w, ptr);
    guestStr(h, w, sp, sl);
  }))),
};
FAMILIES.push(['core', (name, type, rt) => (rt.options.core && Object.prototype.hasOwnProperty.call(coreFamilies, name)
  ? coreFamilies[name](name, type, rt) : null)]);

// ---------------------------------------------------------------------------
// Http and async(Http) (families/http.rs, families/future.rs). What a
// request is refused before connecting, a redirect's target and an error
// status's text are the CLI's own (vera_families::http, through the core);
// the fetch itself is `options.http(method, url, body)`:
//   -> {status, body: Uint8Array, location?}   a response (`location` of a
//      3xx the transport did not follow itself: the runtime follows it as
//      urllib does: a GET on 301/302/303/307/308, a POST turned GET on
//      301/302/303, an error otherwise)
//   -> {error: reason}                         no response: `<urlopen error reason>`
// By default, a synchronous XMLHttpRequest on the runtime's own thread
// (the page's main thread, or a worker), which follows redirects itself.
// async(Http.get(..)) and async(Http.post(..)) fetch at the `async` point
// and `await` builds the stored outcome (Vera's browser runtime is eager
// too): the same values in the same order as the CLI's worker pool.
// ---------------------------------------------------------------------------

const KIND_FUTURE = 4;
const REDIRECTS = [301, 302, 303, 307, 308];
/** urllib's reason for a failure a browser does not tell apart (refused, unreachable, CORS). */
export const XHR_FAILURE = '[Errno 111] Connection refused';

/** The default transport: synchronous XMLHttpRequest (pages and workers). */
function xhrTransport(method, url, body) {
  if (typeof XMLHttpRequest === 'undefined') {
    return { error: 'synchronous HTTP needs XMLHttpRequest (a page or a worker) or the `http` option' };
  }
  const xhr = new XMLHttpRequest();
  try {
    xhr.open(method, url, false);
    // The body's bytes as they came (decoded below as the CLI decodes them).
    xhr.overrideMimeType('text/plain; charset=x-user-defined');
    if (method === 'POST') xhr.setRequestHeader('Content-Type', 'application/json');
    xhr.send(method === 'POST' ? body : null);
  } catch {
    return { error: XHR_FAILURE };
  }
  if (xhr.status === 0) return { error: XHR_FAILURE };
  const text = xhr.responseText;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return { status: xhr.status, body: bytes };
}

/** One core answer that is a String, decoded. */
function coreString(rt, imp, op, args) {
  const out = coreCall(rt, imp, op, args);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  return decoder.decode(out.subarray(6, 6 + dv.getUint32(2, true)));
}

const stringArgs = (...texts) => {
  const w = new WireWriter();
  for (const t of texts) w.str(t);
  return w;
};

/**
 * Http.get / Http.post of `url` (`body` for a POST): {ok: Uint8Array} or
 * {err: text}; an URL Python's urlparse raises on throws its trap.
 */
function httpOutcome(rt, imp, method, url, body) {
  const refusal = coreString(rt, imp, 30, stringArgs(method === 'GET' ? 'get' : 'post', url));
  if (refusal) return { err: refusal };
  const transport = rt.options.http || xhrTransport;
  for (let hops = 0; ; hops++) {
    const r = transport(method, url, body);
    if (r.error !== undefined) return { err: `<urlopen error ${r.error}>` };
    const follow = REDIRECTS.includes(r.status) && r.location != null && hops < 10
      && (method === 'GET' || r.status <= 303);
    if (follow) {
      url = coreString(rt, imp, 31, stringArgs(url, r.location));
      method = 'GET';
      body = null;
      continue;
    }
    if (r.status >= 200 && r.status < 300) return { ok: r.body };
    const w = new WireWriter();
    w.word(r.status);
    return { err: coreString(rt, imp, 32, w) };
  }
}

/** An outcome as the guest's Result<String, String>. */
const allocOutcome = (rt, imp, o) => i32(withHeap(rt, imp, (h) => (o.ok !== undefined
  ? allocAdtWithStr(h, OK, encoder.encode(decoder.decode(o.ok)))
  : allocAdtWithStr(h, ERR, o.err))));

function futures(rt) {
  if (!rt.ext.futures) {
    rt.ext.futures = { next: 1, live: new Map() };
    rt.releases[KIND_FUTURE] = (handle) => rt.ext.futures.live.delete(handle);
  }
  return rt.ext.futures;
}

/** async(Http...): fetches now, keeps the outcome (or the trap awaiting it raises). */
function submit(rt, imp, method, url, body) {
  let outcome;
  try {
    outcome = httpOutcome(rt, imp, method, url, body);
  } catch (e) {
    if (!(e instanceof HostTrap && e.kind === 'refused')) throw e;
    outcome = { raised: e.message };
  }
  const f = futures(rt);
  const handle = f.next++;
  f.live.set(handle, outcome);
  return handle;
}

const readStr = (rt, imp, p, l) => withHeap(rt, imp, (h) => readString(h, p, l));

const network = {
  http_get: (n, _t, rt) => (up, ul) => allocOutcome(rt, n, httpOutcome(rt, n, 'GET', readStr(rt, n, up, ul), null)),
  http_post: (n, _t, rt) => (up, ul, bp, bl) => allocOutcome(rt, n,
    httpOutcome(rt, n, 'POST', readStr(rt, n, up, ul), readStr(rt, n, bp, bl))),
  async_http_get: (n, _t, rt) => (up, ul) => submit(rt, n, 'GET', readStr(rt, n, up, ul), null),
  async_http_post: (n, _t, rt) => (up, ul, bp, bl) => submit(rt, n, 'POST', readStr(rt, n, up, ul), readStr(rt, n, bp, bl)),
  async_await: (n, _t, rt) => (handle) => {
    const outcome = futures(rt).live.get(handle >>> 0);
    if (outcome === undefined) {
      return allocOutcome(rt, n, { err: 'await: future was already reclaimed (#841 invariant violation — please report)' });
    }
    if (outcome.raised !== undefined) throw new HostTrap('refused', outcome.raised);
    return allocOutcome(rt, n, outcome);
  },
};
FAMILIES.push(['network', (name, type, rt) => (rt.options.core && Object.prototype.hasOwnProperty.call(network, name)
  ? network[name](name, type, rt) : null)]);

// ---------------------------------------------------------------------------
// DB and Inference: a page cannot hold a database driver or an API key, so
// each answers Err with the text of Vera's own browser runtime.
// ---------------------------------------------------------------------------

const BROWSER_ERRS = {
  db_query: 'The DB effect cannot run in the browser directly. Database access requires a driver and credentials that would be exposed in client-side JavaScript. To use DB in a browser application, run the query on a server-side endpoint and call it with the Http effect instead.',
  db_execute: 'The DB effect cannot run in the browser directly. Database access requires a driver and credentials that would be exposed in client-side JavaScript. To use DB in a browser application, run the statement on a server-side endpoint and call it with the Http effect instead.',
  inference_complete: 'The Inference effect cannot run in the browser directly. LLM API keys embedded in client-side JavaScript are visible in page source and network requests, creating a serious security risk. To use Inference in a browser application, implement a server-side proxy endpoint that holds the API key and forwards completion requests from your frontend. Call that endpoint with the Http effect instead.',
};
FAMILIES.push(['unavailable', (name, _type, rt) => (Object.prototype.hasOwnProperty.call(BROWSER_ERRS, name)
  ? () => i32(withHeap(rt, name, (h) => allocAdtWithStr(h, ERR, BROWSER_ERRS[name])))
  : null)]);

// ---------------------------------------------------------------------------
// Decimal (families/decimal.rs): Python's `decimal` at Vera's context, the
// CLI's own arithmetic (vera_families::decimal, through the core). Values
// live in a per-run handle table, each as the core's encoding of it (opaque
// bytes here); the guest's collector frees entries through
// host_decref_handle(3, handle).
// ---------------------------------------------------------------------------

const DECIMAL_TAG = 0xfeedc003;
const KIND_DECIMAL = 3;
/** The core's Decimal ops (crates/vera-browser-core/src/families.rs). */
const DEC_OPS = {
  decimal_from_int: 41, decimal_from_float: 42, decimal_from_string: 43, decimal_to_string: 44,
  decimal_to_float: 45, decimal_add: 46, decimal_sub: 47, decimal_mul: 48, decimal_div: 49,
  decimal_neg: 50, decimal_abs: 51, decimal_round: 52, decimal_compare: 53, decimal_eq: 54,
};

function decimalTable(rt) {
  if (!rt.ext.decimal) {
    const t = { values: new Map(), next: 1 };
    rt.ext.decimal = t;
    rt.releases[KIND_DECIMAL] = (handle) => { t.values.delete(handle); };
  }
  return rt.ext.decimal;
}

function decStore(rt, d) {
  const t = decimalTable(rt);
  if (t.next >= 0x80000000) throw new HostTrap('limit', 'Decimal handles exhausted (2^31 allocated)');
  const h = t.next++;
  t.values.set(h, d);
  return h;
}

function decLoad(rt, imp, h) {
  const d = decimalTable(rt).values.get(h >>> 0);
  if (d === undefined) throw new HostTrap('refused', `vera.${imp}: ${h | 0} is not a live Decimal handle`);
  return d;
}

/**
 * The core's answer to Decimal import `imp` on the values of `handles`
 * (then `extra`, a WireWriter filler): the answer's bytes after the status.
 */
function decCall(rt, imp, handles, extra = () => {}) {
  const w = new WireWriter();
  for (const h of handles) w.raw(decLoad(rt, imp, h));
  extra(w);
  return coreCall(rt, imp, DEC_OPS[imp], w).slice(1);
}

/** Allocates and registers the wrapper of `handle`; returns Some(wrapper). */
function someWrapped(rt, imp, handle) {
  return withHeap(rt, imp, (h) => {
    const w = h.alloc(12);
    h.setU32(w, DECIMAL_TAG);
    h.setU32(w + 4, (handle | 0x80000000) >>> 0);
    h.setU32(w + 8, 0);
    return h.withRoots([w], () => {
      if (rt.exports.register_wrapper) rt.exports.register_wrapper(w | 0, KIND_DECIMAL, handle | 0);
      return allocAdt(h, SOME, Payload.word(w));
    });
  }) | 0;
}

const decNone = (rt, imp) => withHeap(rt, imp, (h) => allocAdt(h, NONE, Payload.empty)) | 0;
/** A wire WORD answer's value. */
const wireWord = (v) => new DataView(v.buffer, v.byteOffset).getUint32(1, true);
/** Some(new value), or None when the core answered a WORD (no value). */
const decOption = (rt, imp, v) => (v[0] === W_WORD ? decNone(rt, imp) : someWrapped(rt, imp, decStore(rt, v)));

const decValue = (name, _t, rt) => (...handles) => decStore(rt, decCall(rt, name, handles));
const decimal = {
  decimal_add: decValue,
  decimal_sub: decValue,
  decimal_mul: decValue,
  decimal_neg: decValue,
  decimal_abs: decValue,
  decimal_from_int: (name, _t, rt) => (v) => decStore(rt, decCall(rt, name, [], (w) => w.wide(Field.int(v)))),
  decimal_from_float: (name, _t, rt) => (v) => decStore(rt, decCall(rt, name, [], (w) => w.wide(Field.float(v)))),
  decimal_from_string: (name, _t, rt) => (p, l) => {
    const args = coreArgs(rt, name, (h, w) => guestStr(h, w, p, l));
    return decOption(rt, name, coreCall(rt, name, DEC_OPS[name], args).slice(1));
  },
  decimal_to_string: (name, _t, rt) => (hd) => {
    const v = decCall(rt, name, [hd]);
    return withHeap(rt, name, (h) => allocStr(h, v.subarray(5))).map(i32);
  },
  decimal_to_float: (name, _t, rt) => (hd) => {
    const v = decCall(rt, name, [hd]);
    const dv = new DataView(v.buffer, v.byteOffset);
    return Field.asFloat({ lo: dv.getUint32(1, true), hi: dv.getUint32(5, true) });
  },
  decimal_div: (name, _t, rt) => (a, b) => decOption(rt, name, decCall(rt, name, [a, b])),
  decimal_round: (name, _t, rt) => (hd, places) => decStore(rt, decCall(rt, name, [hd], (w) => w.wide(Field.int(places)))),
  decimal_compare: (name, _t, rt) => (a, b) => {
    const tag = wireWord(decCall(rt, name, [a, b]));
    return withHeap(rt, name, (h) => allocAdt(h, tag, Payload.empty)) | 0;
  },
  decimal_eq: (name, _t, rt) => (a, b) => wireWord(decCall(rt, name, [a, b])),
};
FAMILIES.push(['decimal', (name, type, rt) => (rt.options.core && Object.prototype.hasOwnProperty.call(decimal, name)
  ? decimal[name](name, type, rt) : null)]);

/** Whether import `name` is computed by the core (and so needs `options.core`). */
function coreImport(name) {
  return [coreFamilies, json, decimal, network].some((t) => Object.prototype.hasOwnProperty.call(t, name));
}

/** The same as `load`, under the name the issue proposed. */
export const instantiate = load;
