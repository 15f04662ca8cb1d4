//! The size-class allocator (`vera_rewrite::allocator`) keeps every block
//! a program holds intact and the heap walkable, whatever it allocates and
//! drops, and memory stays proportional to what is live.
//!
//! A real 0.2.3 module, rewritten as vera-rt loads it (overflow-safe mark
//! phase, then size classes), is driven through its exported `alloc` by
//! random programs: allocations of every size class, of large blocks and
//! of blocks larger than any free one, and drops, with every held block
//! rooted on the module's shadow stack and filled with a pattern no
//! collector takes for a pointer. After each allocation the new block must
//! be where a block can be (in the heap, at a body's alignment, its header
//! the request's size) and overlap no held block; at intervals every held
//! block must still hold its pattern, and the chain of block headers from
//! the heap's start must end exactly at `heap_ptr`, passing every held
//! block. The eager-GC build (a collection on every allocation) is driven
//! the same way.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, Val};

fn rewritten(engine: &Engine, name: &str) -> Module {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(name);
    let wasm = std::fs::read(&path).unwrap();
    let safe = vera_rewrite::collector::make_overflow_safe(&wasm)
        .unwrap()
        .expect("a 0.2.3 collector is recognised");
    let classed = vera_rewrite::allocator::size_classes(&safe.wasm)
        .unwrap()
        .expect("a 0.2.3 alloc is recognised");
    Module::new(engine, &classed.wasm).unwrap()
}

struct Modules {
    engine: Engine,
    plain: Module,
    eager: Module,
}

fn modules() -> &'static Modules {
    static MODULES: OnceLock<Modules> = OnceLock::new();
    MODULES.get_or_init(|| {
        let engine = Engine::default();
        Modules {
            plain: rewritten(&engine, "wide_array_string.wasm"),
            eager: rewritten(&engine, "map_adt_keys.eager-gc.wasm"),
            engine,
        }
    })
}

#[derive(Clone, Debug)]
enum Op {
    /// Allocate this many payload bytes and hold the block.
    Alloc(u32),
    /// Let go of one held block.
    Drop(prop::sample::Index),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0u32..=64).prop_map(Op::Alloc),
        4 => (65u32..=300).prop_map(Op::Alloc),
        1 => (301u32..=6000).prop_map(Op::Alloc),
        // Rarely, more than any free block: a bump, often a collection.
        1 => prop_oneof![Just(0u32), 20_000u32..=150_000].prop_map(Op::Alloc),
        12 => any::<prop::sample::Index>().prop_map(Op::Drop),
    ]
}

/// A block the program holds.
#[derive(Clone, Copy, Debug)]
struct Held {
    body: u32,
    size: u32,
    tag: u32,
}

fn total(size: u32) -> u32 {
    (size + 4 + 7) & !7
}

/// The pattern of word `i` of block `tag`: odd, so never a block's body
/// address (those are 4 mod 8), so never a pointer to a collector.
fn pattern(tag: u32, i: u32) -> u32 {
    (tag.wrapping_mul(0x9e37_79b1) ^ i.wrapping_mul(0x85eb_ca6b)) | 1
}

fn read(memory: &Memory, store: &Store<()>, at: u32) -> u32 {
    let d = memory.data(store);
    u32::from_le_bytes(d[at as usize..at as usize + 4].try_into().unwrap())
}

fn write(memory: &Memory, store: &mut Store<()>, at: u32, v: u32) {
    memory.data_mut(store)[at as usize..at as usize + 4].copy_from_slice(&v.to_le_bytes());
}

struct Run {
    store: Store<()>,
    memory: Memory,
    heap_ptr: wasmtime::Global,
    gc_sp: wasmtime::Global,
    alloc: wasmtime::TypedFunc<i32, i32>,
    heap_start: u32,
    stack_base: u32,
    max_roots: usize,
    held: Vec<Held>,
    /// Held blocks by header address: their end.
    ranges: BTreeMap<u32, u32>,
}

impl Run {
    fn new(module: &Module) -> Run {
        let m = modules();
        let mut store = Store::new(&m.engine, ());
        let mut linker = Linker::new(&m.engine);
        linker.define_unknown_imports_as_traps(module).unwrap();
        let instance: Instance = linker.instantiate(&mut store, module).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let heap_ptr = instance.get_global(&mut store, "heap_ptr").unwrap();
        let gc_sp = instance.get_global(&mut store, "gc_sp").unwrap();
        let limit = instance.get_global(&mut store, "gc_stack_limit").unwrap();
        let alloc = instance.get_typed_func::<i32, i32>(&mut store, "alloc").unwrap();
        // Before the program allocates, heap_ptr is the heap's start and
        // gc_sp the shadow stack's base.
        let heap_start = heap_ptr.get(&mut store).unwrap_i32() as u32;
        let stack_base = gc_sp.get(&mut store).unwrap_i32() as u32;
        let stack_limit = limit.get(&mut store).unwrap_i32() as u32;
        Run {
            store,
            memory,
            heap_ptr,
            gc_sp,
            alloc,
            heap_start,
            stack_base,
            max_roots: ((stack_limit - stack_base) / 4) as usize - 8,
            held: Vec::new(),
            ranges: BTreeMap::new(),
        }
    }

    fn heap_ptr(&mut self) -> u32 {
        self.heap_ptr.get(&mut self.store).unwrap_i32() as u32
    }

    fn set_root(&mut self, slot: usize) {
        let body = self.held[slot].body;
        write(&self.memory, &mut self.store, self.stack_base + 4 * slot as u32, body);
    }

    fn set_sp(&mut self) {
        let sp = self.stack_base + 4 * self.held.len() as u32;
        self.gc_sp.set(&mut self.store, Val::I32(sp as i32)).unwrap();
    }

    fn alloc(&mut self, size: u32, tag: u32) -> Result<(), TestCaseError> {
        let body = self
            .alloc
            .call(&mut self.store, size as i32)
            .map_err(|e| TestCaseError::fail(format!("alloc({size}): {e:?}")))? as u32;
        let heap_ptr = self.heap_ptr();
        prop_assert!(
            body >= self.heap_start + 4 && body < heap_ptr && (body - self.heap_start) % 8 == 4,
            "alloc({size}) = {body}, heap {}..{heap_ptr}",
            self.heap_start
        );
        prop_assert_eq!(
            read(&self.memory, &self.store, body - 4),
            size << 1,
            "header of alloc({})",
            size
        );
        let (start, end) = (body - 4, body - 4 + total(size));
        if let Some((&s, &e)) = self.ranges.range(..end).next_back() {
            prop_assert!(e <= start, "alloc({size}) = {start}..{end} overlaps held {s}..{e}");
        }
        for i in 0..size / 4 {
            write(&self.memory, &mut self.store, body + 4 * i, pattern(tag, i));
        }
        self.ranges.insert(start, end);
        self.held.push(Held { body, size, tag });
        self.set_root(self.held.len() - 1);
        self.set_sp();
        Ok(())
    }

    /// Lets go of held block `slot`.
    fn drop_at(&mut self, slot: usize) {
        let gone = self.held.swap_remove(slot);
        self.ranges.remove(&(gone.body - 4));
        if slot < self.held.len() {
            self.set_root(slot);
        }
        self.set_sp();
    }

    /// Every held block intact, and the heap a chain of blocks from its
    /// start to heap_ptr through every held one.
    fn check(&mut self) -> Result<(), TestCaseError> {
        for h in self.held.clone() {
            let header = read(&self.memory, &self.store, h.body - 4);
            prop_assert_eq!(header & !1, h.size << 1, "header of held block {}", h.body);
            for i in 0..h.size / 4 {
                prop_assert_eq!(
                    read(&self.memory, &self.store, h.body + 4 * i),
                    pattern(h.tag, i),
                    "word {} of held block {} (size {})",
                    i,
                    h.body,
                    h.size
                );
            }
        }
        let heap_ptr = self.heap_ptr();
        let mut at = self.heap_start;
        let mut headers = HashSet::new();
        while at < heap_ptr {
            headers.insert(at);
            at += total(read(&self.memory, &self.store, at) >> 1);
        }
        prop_assert_eq!(at, heap_ptr, "the chain of blocks overshoots heap_ptr");
        for h in &self.held {
            prop_assert!(
                headers.contains(&(h.body - 4)),
                "held block {} is off the chain",
                h.body
            );
        }
        Ok(())
    }
}

fn drive(module: &Module, ops: &[Op], check_every: usize) -> Result<(), TestCaseError> {
    let mut run = Run::new(module);
    let initial_memory = run.memory.data_size(&run.store);
    let (mut live, mut peak_live, mut largest) = (0u64, 0u64, 0u64);
    for (n, op) in ops.iter().enumerate() {
        match op {
            Op::Alloc(size) if run.held.len() < run.max_roots => {
                run.alloc(*size, n as u32)?;
                live += u64::from(total(*size));
                largest = largest.max(u64::from(total(*size)));
            }
            Op::Alloc(_) => {
                live -= u64::from(total(run.held[0].size));
                run.drop_at(0);
            }
            Op::Drop(index) => {
                if !run.held.is_empty() {
                    let slot = index.index(run.held.len());
                    live -= u64::from(total(run.held[slot].size));
                    run.drop_at(slot);
                }
            }
        }
        peak_live = peak_live.max(live);
        if n % check_every == 0 {
            run.check()?;
        }
    }
    run.check()?;
    // Memory follows what is live: twice it after a collection, plus a
    // request, plus the collector's bitmap and page rounding.
    let memory = run.memory.data_size(&run.store) as u64;
    let bound = initial_memory as u64 + 4 * peak_live + 2 * largest + (2 << 20);
    prop_assert!(
        memory <= bound,
        "memory {memory} for at most {peak_live} bytes live (bound {bound})"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 200, ..ProptestConfig::default() })]
    #[test]
    fn held_blocks_survive_any_program(ops in prop::collection::vec(op(), 1..4000)) {
        drive(&modules().plain, &ops, 97)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 100, ..ProptestConfig::default() })]
    #[test]
    fn held_blocks_survive_a_collection_on_every_allocation(ops in prop::collection::vec(op(), 1..400)) {
        drive(&modules().eager, &ops, 13)?;
    }
}

/// Dropping and allocating blocks of one size, over and over, reuses
/// their blocks: memory stays at a few times what is held.
#[test]
fn churn_reuses_blocks() {
    let module = &modules().plain;
    let mut run = Run::new(module);
    let held = 2000;
    for n in 0..held {
        run.alloc(24, n).unwrap();
    }
    let before = run.memory.data_size(&run.store);
    for n in 0..200_000u32 {
        run.drop_at((n as usize * 7919) % held as usize);
        run.alloc(24 + (n % 3) * 8, held + n).unwrap();
    }
    run.check().unwrap();
    assert!(
        run.memory.data_size(&run.store) <= before + (1 << 20),
        "memory grew from {before} to {}",
        run.memory.data_size(&run.store)
    );
}
