//! Map/Set lookups as WebAssembly functions, for a module to run itself.
//!
//! A lookup (`map_get`, `map_contains`, `set_contains`) changes nothing in
//! guest memory, so it need not leave the module: a function made here
//! reads the wrapper, validates the bucket as [`crate::collection`] does,
//! hashes the key and probes the index exactly as LAYOUT.md says, and
//! answers from the slot it finds; `map_get` bump-allocates its `Option` at
//! `heap_ptr`, as the host would. Anything else (a version that is not the
//! root, a bucket that fails a check, a probe that runs long, no room to
//! bump) is passed to the host import, which then gives the answer or the
//! error. So a call costs a few dozen wasm instructions instead of a trip
//! out of the module, and the answer is the same either way.
//!
//! String keys are left to the host (their hash and comparison read the
//! key's bytes).

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};

use crate::collection::{
    Kind, B_CAP, B_COUNT, B_SLOTS, INDEX_LIVE, MAX_CAPACITY, MIN_BUILT_CAPACITY, POS_BITS, ROOT, SLOT_BITS, SLOT_MASK,
    SLOT_SIZE, S_KEY, S_OCC, S_VAL, WRAPPER_SIZE, W_LINK, W_STATE, W_TAG,
};
use crate::field::Tag;
use crate::values::{NONE, SOME};

/// A lookup to run inside the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// `map_get$k{key}_v{value}`: `Option<V>`.
    Get { key: Tag, value: Tag },
    /// `map_contains$k{key}` or `set_contains$e{key}`: a Bool.
    Contains { kind: Kind, key: Tag },
}

/// Where the function finds what it needs in the module.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Function index of the host import, widened to take `heap_ptr` last
    /// and return its new value last (see `vera_rewrite`).
    pub import: u32,
    /// Global index of `heap_ptr`.
    pub heap_ptr: u32,
}

/// The function standing for the lookup's import (its type: the wrapper,
/// the key, `-> i32`), or `None` when the host must do it (String keys).
pub fn lookup(lookup: Lookup, target: Target) -> Option<Function> {
    let (kind, key) = match lookup {
        Lookup::Get { key, .. } => (Kind::Map, key),
        Lookup::Contains { kind, key } => (kind, key),
    };
    let key = match key {
        Tag::Int => Key::Int,
        Tag::Float => Key::Float,
        Tag::Word => Key::Word,
        Tag::Str => return None,
    };
    let mut f = Emitter::new();
    f.body(kind, key, lookup, target);
    Some(f.function)
}

/// The keys a lookup here hashes and compares: those of one 8-byte field.
#[derive(Clone, Copy)]
enum Key {
    Int,
    Float,
    Word,
}

// Parameters and locals.
const W: u32 = 0;
const KEY: u32 = 1;
const MEM: u32 = 2; // i64: memory size in bytes
const B: u32 = 3;
const CAP: u32 = 4;
const USED: u32 = 5;
const MASK: u32 = 6;
const POS: u32 = 7;
const FP: u32 = 8;
const ENTRY: u32 = 9;
const SLOT: u32 = 10;
const SA: u32 = 11;
const N: u32 = 12;
const T: u32 = 13;
const HP: u32 = 14;
const IDX: u32 = 15; // b + 20 * cap: `used` at +8, the index at +12
const BITS: u32 = 16; // i64
const Y: u32 = 17; // f64

/// The heap stays below 2 GiB (Vera 0.2.3's `alloc`, and the host's bump).
const HEAP_END: i64 = 0x7fff_ffff;

struct Emitter {
    function: Function,
}

/// A 4-byte access to memory 0 at `offset` from the address.
fn mem32(offset: u32) -> MemArg {
    memarg(offset, 2)
}

/// An 8-byte access to memory 0 at `offset` from the address.
fn mem64(offset: u32) -> MemArg {
    memarg(offset, 3)
}

fn memarg(offset: u32, align: u32) -> MemArg {
    MemArg {
        offset: offset as u64,
        align,
        memory_index: 0,
    }
}

impl Emitter {
    fn new() -> Emitter {
        Emitter {
            function: Function::new([
                (1, ValType::I64),
                (13, ValType::I32),
                (1, ValType::I64),
                (1, ValType::F64),
            ]),
        }
    }

    fn ops(&mut self, ops: &[I<'_>]) {
        for op in ops {
            self.function.instruction(op);
        }
    }

    /// `i64(value of local) + add > memory size` → branch to `depth`.
    fn out_of_memory(&mut self, local: u32, add: i64, depth: u32) {
        self.ops(&[
            I::LocalGet(local),
            I::I64ExtendI32U,
            I::I64Const(add),
            I::I64Add,
            I::LocalGet(MEM),
            I::I64GtU,
            I::BrIf(depth),
        ]);
    }

    /// `h ^= h >> shift` of the i32 on the stack.
    fn xor_shift(&mut self, shift: i32) {
        self.ops(&[
            I::LocalTee(T),
            I::LocalGet(T),
            I::I32Const(shift),
            I::I32ShrU,
            I::I32Xor,
        ]);
    }

    /// murmur3's finaliser (`field::fmix32`) of the i32 on the stack.
    fn fmix32(&mut self) {
        for (shift, factor) in [(16, 0x85eb_ca6bu32), (13, 0xc2b2_ae35)] {
            self.xor_shift(shift);
            self.ops(&[I::I32Const(factor as i32), I::I32Mul]);
        }
        self.xor_shift(16);
    }

    /// `mix64` of the 64 bits in `BITS`, left on the stack.
    fn mix64(&mut self) {
        self.ops(&[I::LocalGet(BITS), I::I32WrapI64]);
        self.ops(&[I::LocalGet(BITS), I::I64Const(32), I::I64ShrU, I::I32WrapI64]);
        self.fmix32();
        self.ops(&[I::I32Const(0x9e37_79b9u32 as i32), I::I32Add, I::I32Xor]);
        self.fmix32();
    }

    /// The key's hash (`field::hash`), left on the stack.
    fn hash(&mut self, key: Key) {
        match key {
            Key::Int => {
                // g = mix64(x >> 3); o = (lo ^ (g >> 29)) & 7;
                // ((g << 3) | o) ^ (o << 29)
                self.ops(&[I::LocalGet(KEY), I::I64Const(3), I::I64ShrU, I::LocalSet(BITS)]);
                self.mix64();
                self.ops(&[
                    I::LocalSet(ENTRY),
                    I::LocalGet(KEY),
                    I::I32WrapI64,
                    I::LocalGet(ENTRY),
                    I::I32Const(29),
                    I::I32ShrU,
                    I::I32Xor,
                    I::I32Const(7),
                    I::I32And,
                    I::LocalSet(SLOT),
                    I::LocalGet(ENTRY),
                    I::I32Const(3),
                    I::I32Shl,
                    I::LocalGet(SLOT),
                    I::I32Or,
                    I::LocalGet(SLOT),
                    I::I32Const(29),
                    I::I32Shl,
                    I::I32Xor,
                ]);
            }
            Key::Word => {
                self.ops(&[I::LocalGet(KEY), I::I64ExtendI32U, I::LocalSet(BITS)]);
                self.mix64();
            }
            Key::Float => {
                // Every NaN as the canonical one, -0.0 as 0.0.
                self.ops(&[
                    I::LocalGet(KEY),
                    I::LocalGet(KEY),
                    I::F64Ne,
                    I::If(BlockType::Result(ValType::I64)),
                    I::I64Const(f64::NAN.to_bits() as i64),
                    I::Else,
                    I::LocalGet(KEY),
                    I::F64Const(0.0.into()),
                    I::F64Eq,
                    I::If(BlockType::Result(ValType::I64)),
                    I::I64Const(0),
                    I::Else,
                    I::LocalGet(KEY),
                    I::I64ReinterpretF64,
                    I::End,
                    I::End,
                    I::LocalSet(BITS),
                ]);
                self.mix64();
            }
        }
    }

    /// Whether the key in the slot at `SA` equals the key (`field::equal`),
    /// left on the stack.
    fn key_equal(&mut self, key: Key) {
        match key {
            Key::Int => self.ops(&[I::LocalGet(SA), I::I64Load(mem64(S_KEY)), I::LocalGet(KEY), I::I64Eq]),
            Key::Word => self.ops(&[
                I::LocalGet(SA),
                I::I64Load(mem64(S_KEY)),
                I::LocalGet(KEY),
                I::I64ExtendI32U,
                I::I64Eq,
            ]),
            // SameValueZero: x == y, or both NaN.
            Key::Float => self.ops(&[
                I::LocalGet(KEY),
                I::LocalGet(SA),
                I::F64Load(mem64(S_KEY)),
                I::LocalTee(Y),
                I::F64Eq,
                I::LocalGet(KEY),
                I::LocalGet(KEY),
                I::F64Ne,
                I::LocalGet(Y),
                I::LocalGet(Y),
                I::F64Ne,
                I::I32And,
                I::I32Or,
            ]),
        }
    }

    /// Bump-allocates an `Option` of `size` bytes at `heap_ptr` (header
    /// `size << 1`, as the host and the guest's `alloc` write it), leaving
    /// its address in `HP` + 4; branches to `fallback` when it does not
    /// fit below the end of memory and the 2 GiB heap ceiling.
    fn bump(&mut self, heap_ptr: u32, size: u32, fallback: u32) {
        let total = (size + 4).next_multiple_of(8);
        self.ops(&[I::GlobalGet(heap_ptr), I::LocalSet(HP)]);
        self.out_of_memory(HP, total as i64, fallback);
        self.ops(&[
            I::LocalGet(HP),
            I::I64ExtendI32U,
            I::I64Const(total as i64),
            I::I64Add,
            I::I64Const(HEAP_END),
            I::I64GtU,
            I::BrIf(fallback),
            I::LocalGet(HP),
            I::I32Const((size << 1) as i32),
            I::I32Store(mem32(0)),
            I::LocalGet(HP),
            I::I32Const(total as i32),
            I::I32Add,
            I::GlobalSet(heap_ptr),
        ]);
    }

    fn body(&mut self, kind: Kind, key: Key, lookup: Lookup, target: Target) {
        // block $fallback { block $notfound { block $found { checks; probe }
        // found: answer } notfound: answer } fallback: the import
        self.ops(&[
            I::Block(BlockType::Empty),
            I::Block(BlockType::Empty),
            I::Block(BlockType::Empty),
        ]);
        // Here $found is 0, $notfound 1, $fallback 2.
        self.ops(&[
            I::MemorySize(0),
            I::I64ExtendI32U,
            I::I64Const(16),
            I::I64Shl,
            I::LocalSet(MEM),
        ]);
        // The wrapper: in memory, of this kind, the root.
        self.out_of_memory(W, WRAPPER_SIZE as i64, 2);
        self.ops(&[
            I::LocalGet(W),
            I::I32Load(mem32(W_TAG)),
            I::I32Const(kind.tag() as i32),
            I::I32Ne,
            I::BrIf(2),
            I::LocalGet(W),
            I::I32Load(mem32(W_STATE)),
            I::I32Const(ROOT as i32),
            I::I32Ne,
            I::BrIf(2),
            // An empty root holds no bucket.
            I::LocalGet(W),
            I::I32Load(mem32(W_LINK)),
            I::LocalTee(B),
            I::I32Eqz,
            I::BrIf(1),
            I::LocalGet(B),
            I::I32Const(4),
            I::I32LtU,
            I::BrIf(2),
        ]);
        // The bucket's header (`Bucket::load`).
        self.out_of_memory(B, 8, 2);
        self.ops(&[
            I::LocalGet(B),
            I::I32Load(mem32(B_CAP)),
            I::LocalTee(CAP),
            I::I32Const(MIN_BUILT_CAPACITY as i32),
            I::I32LtU,
            I::BrIf(2),
            I::LocalGet(CAP),
            I::I32Const(MAX_CAPACITY as i32),
            I::I32GtU,
            I::BrIf(2),
            I::LocalGet(CAP),
            I::LocalGet(CAP),
            I::I32Const(1),
            I::I32Sub,
            I::I32And,
            I::BrIf(2),
            // The whole block in memory: 12 + 28 * cap bytes.
            I::LocalGet(B),
            I::I64ExtendI32U,
            I::LocalGet(CAP),
            I::I64ExtendI32U,
            I::I64Const(28),
            I::I64Mul,
            I::I64Const(12),
            I::I64Add,
            I::I64Add,
            I::LocalGet(MEM),
            I::I64GtU,
            I::BrIf(2),
            // And within its heap block.
            I::LocalGet(B),
            I::I32Const(4),
            I::I32Sub,
            I::I32Load(mem32(0)),
            I::I32Const(1),
            I::I32ShrU,
            I::LocalGet(CAP),
            I::I32Const(28),
            I::I32Mul,
            I::I32Const(12),
            I::I32Add,
            I::I32LtU,
            I::BrIf(2),
            // count <= used <= cap
            I::LocalGet(B),
            I::LocalGet(CAP),
            I::I32Const(SLOT_SIZE as i32),
            I::I32Mul,
            I::I32Add,
            I::LocalTee(IDX),
            I::I32Load(mem32(B_SLOTS)),
            I::LocalTee(USED),
            I::LocalGet(CAP),
            I::I32GtU,
            I::BrIf(2),
            I::LocalGet(B),
            I::I32Load(mem32(B_COUNT)),
            I::LocalGet(USED),
            I::I32GtU,
            I::BrIf(2),
        ]);
        // The key's place: position and fingerprint.
        self.hash(key);
        self.ops(&[
            I::LocalTee(POS),
            I::I32Const(POS_BITS as i32),
            I::I32ShrU,
            I::LocalSet(FP),
            I::LocalGet(CAP),
            I::I32Const(1),
            I::I32Shl,
            I::I32Const(1),
            I::I32Sub,
            I::LocalTee(MASK),
            I::LocalGet(POS),
            I::I32And,
            I::LocalSet(POS),
        ]);
        // The probe (`Bucket::probe`). In the loop: $found 1, $notfound 2,
        // $fallback 3.
        self.ops(&[
            I::Loop(BlockType::Empty),
            // entry = index[pos], the index at 12 + 20 * cap
            I::LocalGet(IDX),
            I::LocalGet(POS),
            I::I32Const(2),
            I::I32Shl,
            I::I32Add,
            I::I32Load(mem32(B_SLOTS + 4)),
            I::LocalTee(ENTRY),
            I::I32Eqz,
            I::BrIf(2),
            I::LocalGet(ENTRY),
            I::I32Const(INDEX_LIVE as i32),
            I::I32And,
            I::I32Eqz,
            I::BrIf(3),
            I::LocalGet(ENTRY),
            I::I32Const(SLOT_MASK as i32),
            I::I32And,
            I::LocalTee(SLOT),
            I::LocalGet(USED),
            I::I32GeU,
            I::BrIf(3),
            // The entry of this key's fingerprint for that slot?
            I::LocalGet(ENTRY),
            I::LocalGet(FP),
            I::I32Const(SLOT_BITS as i32),
            I::I32Shl,
            I::I32Const(INDEX_LIVE as i32),
            I::I32Or,
            I::LocalGet(SLOT),
            I::I32Or,
            I::I32Eq,
            I::If(BlockType::Empty),
            // The slot at 8 + 20 * slot: live and holding the key?
            I::LocalGet(B),
            I::LocalGet(SLOT),
            I::I32Const(SLOT_SIZE as i32),
            I::I32Mul,
            I::I32Add,
            I::I32Const(B_SLOTS as i32),
            I::I32Add,
            I::LocalTee(SA),
            I::I32Load(mem32(S_OCC)),
            I::If(BlockType::Empty),
        ]);
        self.key_equal(key);
        // In the two `if`s: $found is 3.
        self.ops(&[
            I::BrIf(3),
            I::End,
            I::End,
            // The next entry: the same offset in the next group of eight,
            // after the last group the next offset.
            I::LocalGet(POS),
            I::I32Const(8),
            I::I32Add,
            I::LocalGet(MASK),
            I::I32LeU,
            I::If(BlockType::Result(ValType::I32)),
            I::LocalGet(POS),
            I::I32Const(8),
            I::I32Add,
            I::Else,
            I::LocalGet(POS),
            I::I32Const(1),
            I::I32Add,
            I::I32Const(7),
            I::I32And,
            I::End,
            I::LocalSet(POS),
            // Every entry seen: the host reports the full index.
            I::LocalGet(N),
            I::I32Const(1),
            I::I32Add,
            I::LocalTee(N),
            I::LocalGet(MASK),
            I::I32GtU,
            I::BrIf(3),
            I::Br(0),
            I::End,
            I::End,
        ]);
        // $found (the slot at SA): $notfound 0, $fallback 1.
        match lookup {
            Lookup::Contains { .. } => self.ops(&[I::I32Const(1), I::Return]),
            Lookup::Get { value, .. } => {
                let size = match value {
                    Tag::Int | Tag::Float => 16,
                    Tag::Str => 12,
                    Tag::Word => 8,
                };
                self.bump(target.heap_ptr, size, 1);
                self.ops(&[I::LocalGet(HP), I::I32Const(SOME as i32), I::I32Store(mem32(4))]);
                match value {
                    Tag::Int | Tag::Float => self.ops(&[
                        I::LocalGet(HP),
                        I::I32Const(0),
                        I::I32Store(mem32(8)),
                        I::LocalGet(HP),
                        I::LocalGet(SA),
                        I::I64Load(mem64(S_VAL)),
                        I::I64Store(mem64(12)),
                    ]),
                    Tag::Word => self.ops(&[
                        I::LocalGet(HP),
                        I::LocalGet(SA),
                        I::I32Load(mem32(S_VAL)),
                        I::I32Store(mem32(8)),
                    ]),
                    Tag::Str => self.ops(&[
                        I::LocalGet(HP),
                        I::LocalGet(SA),
                        I::I32Load(mem32(S_VAL)),
                        I::I32Store(mem32(8)),
                        I::LocalGet(HP),
                        I::LocalGet(SA),
                        I::I32Load(mem32(S_VAL + 4)),
                        I::I32Store(mem32(12)),
                    ]),
                }
                self.ops(&[I::LocalGet(HP), I::I32Const(4), I::I32Add, I::Return]);
            }
        }
        self.ops(&[I::End]);
        // $notfound: $fallback 0.
        match lookup {
            Lookup::Contains { .. } => self.ops(&[I::I32Const(0), I::Return]),
            Lookup::Get { .. } => {
                self.bump(target.heap_ptr, 4, 0);
                self.ops(&[
                    I::LocalGet(HP),
                    I::I32Const(NONE as i32),
                    I::I32Store(mem32(4)),
                    I::LocalGet(HP),
                    I::I32Const(4),
                    I::I32Add,
                    I::Return,
                ]);
            }
        }
        self.ops(&[I::End]);
        // $fallback: the host import, passing `heap_ptr` through.
        self.ops(&[
            I::LocalGet(W),
            I::LocalGet(KEY),
            I::GlobalGet(target.heap_ptr),
            I::Call(target.import),
            I::GlobalSet(target.heap_ptr),
            I::End,
        ]);
    }
}
