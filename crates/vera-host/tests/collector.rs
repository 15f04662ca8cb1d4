//! The overflow-safe mark phase (`vera_rewrite::collector`) marks exactly
//! what Vera 0.2.3's own does, on any heap.
//!
//! Random heaps (small and wide, deep and cyclic, with interior pointers,
//! false pointers and junk) are written into a real 0.2.3 module's memory
//! with roots on its shadow stack; its `alloc` is then called with more
//! than memory holds, so it runs `gc_collect`. The blocks marked afterwards
//! must be exactly the blocks reachable from the roots, as a plain model
//! computes it: with the rewritten collector always, and with the original
//! wherever it does not trap on a full worklist (where it does, the heap
//! must in fact have needed more than its 16 384 entries at once).

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use wasmtime::{Engine, Instance, Linker, Module, Store, Val};

/// The 0.2.3 module whose collector is exercised, as built and rewritten.
struct Modules {
    engine: Engine,
    original: Module,
    rewritten: Module,
}

fn modules() -> &'static Modules {
    static MODULES: OnceLock<Modules> = OnceLock::new();
    MODULES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wide_array_string.wasm");
        let wasm = std::fs::read(&path).unwrap();
        let safe = vera_rewrite::collector::make_overflow_safe(&wasm)
            .unwrap()
            .expect("a 0.2.3 collector is recognised");
        let engine = Engine::default();
        Modules {
            original: Module::new(&engine, &wasm).unwrap(),
            rewritten: Module::new(&engine, &safe.wasm).unwrap(),
            engine,
        }
    })
}

/// One heap block: its payload size in bytes and the words of its payload
/// (enough to fill the block, which is aligned to 8 with its header).
#[derive(Clone, Debug)]
struct Block {
    size: u32,
    words: Vec<Word>,
}

/// What a payload word holds.
#[derive(Clone, Copy, Debug)]
enum Word {
    /// The body address of block `n % blocks`.
    Pointer(usize),
    /// An address inside block `n % blocks`, not its body start.
    Interior(usize, u32),
    /// Any other value (small integers, junk, addresses outside the heap).
    Junk(u32),
}

#[derive(Clone, Debug)]
struct Heap {
    blocks: Vec<Block>,
    roots: Vec<Word>,
}

fn words_in(size: u32) -> usize {
    (((size + 4 + 7) & !7) - 4) as usize / 4
}

fn word(pointer_weight: u32) -> impl Strategy<Value = Word> {
    prop_oneof![
        pointer_weight => any::<usize>().prop_map(Word::Pointer),
        1 => (any::<usize>(), 1u32..64).prop_map(|(n, d)| Word::Interior(n, d)),
        2 => any::<u32>().prop_map(Word::Junk),
        1 => (0u32..100_000).prop_map(Word::Junk),
    ]
}

impl Block {
    /// A block of `size` payload bytes holding `words` (cut or padded with
    /// zeros to fill it).
    fn new(size: u32, mut words: Vec<Word>) -> Block {
        words.resize(words_in(size), Word::Junk(0));
        Block { size, words }
    }
}

fn block(max_size: u32, pointer_weight: u32) -> impl Strategy<Value = Block> {
    (0..=max_size).prop_flat_map(move |size| {
        prop::collection::vec(word(pointer_weight), words_in(size)).prop_map(move |words| Block::new(size, words))
    })
}

/// A few hundred blocks of a few words: deep, cyclic, no overflow.
fn small_heap() -> impl Strategy<Value = Heap> {
    (
        prop::collection::vec(block(40, 3), 1..300),
        prop::collection::vec(word(6), 0..24),
    )
        .prop_map(|(blocks, roots)| Heap { blocks, roots })
}

/// Tens of thousands of small blocks and a few blocks wider than the
/// worklist, pointing anywhere (at each other, back and forward).
fn wide_heap() -> impl Strategy<Value = Heap> {
    (
        prop::collection::vec(block(24, 2), 17_000..30_000),
        prop::collection::vec((any::<prop::sample::Index>(), 16_400usize..40_000, 1u32..20), 1..4),
        prop::collection::vec(word(6), 1..6),
        any::<u64>(),
    )
        .prop_map(|(mut blocks, wide, roots, seed)| {
            let mut rng = seed;
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            for (at, width, junk_every) in wide {
                let words = (0..width)
                    .map(|i| {
                        if (i as u32).is_multiple_of(junk_every) {
                            Word::Junk(next() as u32)
                        } else {
                            Word::Pointer(next() as usize)
                        }
                    })
                    .collect::<Vec<_>>();
                let size = (words.len() * 4) as u32;
                blocks.insert(at.index(blocks.len() + 1), Block::new(size, words));
            }
            Heap { blocks, roots }
        })
}

/// Where each block's body lands, from the heap's start.
fn layout(heap: &Heap, heap_start: u32) -> (Vec<u32>, u32) {
    let mut bodies = Vec::with_capacity(heap.blocks.len());
    let mut at = heap_start;
    for b in &heap.blocks {
        bodies.push(at + 4);
        at += (b.size + 4 + 7) & !7;
    }
    (bodies, at)
}

fn value(word: Word, bodies: &[u32]) -> u32 {
    match word {
        Word::Pointer(n) => bodies[n % bodies.len()],
        // Past a body start: inside the block, or at or into a later one
        // (the model and the collector then agree it is that block's).
        Word::Interior(n, d) => bodies[n % bodies.len()] + d,
        Word::Junk(v) => v,
    }
}

/// The blocks reachable from the roots, as Vera's collector defines it: a
/// word is a pointer exactly when it is some block's body address, and a
/// block's words are read up to its payload size.
fn reachable(heap: &Heap, bodies: &[u32]) -> HashSet<usize> {
    let index: std::collections::HashMap<u32, usize> = bodies.iter().enumerate().map(|(i, &b)| (b, i)).collect();
    let mut seen = HashSet::new();
    let mut stack: Vec<usize> = heap
        .roots
        .iter()
        .filter_map(|&w| index.get(&value(w, bodies)).copied())
        .collect();
    while let Some(b) = stack.pop() {
        if !seen.insert(b) {
            continue;
        }
        let block = &heap.blocks[b];
        let scanned = block.size.div_ceil(4) as usize;
        for &w in block.words.iter().take(scanned) {
            if let Some(&child) = index.get(&value(w, bodies)) {
                if !seen.contains(&child) {
                    stack.push(child);
                }
            }
        }
    }
    seen
}

/// Builds `heap` in a fresh instance of `module`, collects, and returns
/// the blocks left marked, or the trap.
fn collect(module: &Module, heap: &Heap) -> Result<HashSet<usize>, wasmtime::Error> {
    let m = modules();
    let mut store = Store::new(&m.engine, ());
    let mut linker = Linker::new(&m.engine);
    linker.define_unknown_imports_as_traps(module).unwrap();
    let instance: Instance = linker.instantiate(&mut store, module).unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let heap_ptr = instance.get_global(&mut store, "heap_ptr").unwrap();
    let gc_sp = instance.get_global(&mut store, "gc_sp").unwrap();
    // Before the program allocates, heap_ptr is the heap's start.
    let heap_start = heap_ptr.get(&mut store).unwrap_i32() as u32;
    let stack_base = gc_sp.get(&mut store).unwrap_i32() as u32;
    let (bodies, end) = layout(heap, heap_start);
    // Twice the heap beyond its end, so the request below is larger than
    // any block the sweep frees and the collector's bitmap fits.
    let want = (end as usize) * 2 + (1 << 16);
    let have = memory.data_size(&store);
    if want > have {
        memory.grow(&mut store, (want - have).div_ceil(1 << 16) as u64).unwrap();
    }
    let data = memory.data_mut(&mut store);
    for (block, &body) in heap.blocks.iter().zip(&bodies) {
        let header = body as usize - 4;
        data[header..header + 4].copy_from_slice(&(block.size << 1).to_le_bytes());
        for (i, &w) in block.words.iter().enumerate() {
            let at = body as usize + 4 * i;
            data[at..at + 4].copy_from_slice(&value(w, &bodies).to_le_bytes());
        }
    }
    // A fresh instance's shadow stack is empty: gc_sp is its base.
    for (i, &w) in heap.roots.iter().enumerate() {
        let at = stack_base as usize + 4 * i;
        data[at..at + 4].copy_from_slice(&value(w, &bodies).to_le_bytes());
    }
    gc_sp
        .set(&mut store, Val::I32((stack_base + 4 * heap.roots.len() as u32) as i32))
        .unwrap();
    heap_ptr.set(&mut store, Val::I32(end as i32)).unwrap();
    let size = (memory.data_size(&store) as u32 - end) as i32 + 64;
    let alloc = instance.get_typed_func::<i32, i32>(&mut store, "alloc").unwrap();
    alloc.call(&mut store, size)?;
    let data = memory.data(&store);
    Ok(bodies
        .iter()
        .enumerate()
        .filter(|&(_, &body)| data[body as usize - 4] & 1 == 1)
        .map(|(i, _)| i)
        .collect())
}

fn check(heap: &Heap, may_overflow: bool) -> Result<(), TestCaseError> {
    let m = modules();
    let expected = {
        // The model needs the real addresses: the heap's start is the
        // module's initial heap_ptr.
        let mut store = Store::new(&m.engine, ());
        let mut linker = Linker::new(&m.engine);
        linker.define_unknown_imports_as_traps(&m.original).unwrap();
        let instance = linker.instantiate(&mut store, &m.original).unwrap();
        let start = instance
            .get_global(&mut store, "heap_ptr")
            .unwrap()
            .get(&mut store)
            .unwrap_i32() as u32;
        reachable(heap, &layout(heap, start).0)
    };
    let rewritten = collect(&m.rewritten, heap).map_err(|e| TestCaseError::fail(format!("rewritten: {e:?}")))?;
    prop_assert_eq!(&rewritten, &expected, "rewritten collector");
    match collect(&m.original, heap) {
        Ok(original) => prop_assert_eq!(&original, &expected, "original collector"),
        Err(e) => {
            prop_assert!(may_overflow, "the original trapped on a small heap: {e:?}");
            prop_assert_eq!(
                e.downcast_ref::<wasmtime::Trap>(),
                Some(&wasmtime::Trap::UnreachableCodeReached)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn small_heaps_mark_as_the_original(heap in small_heap()) {
        check(&heap, false)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 20, ..ProptestConfig::default() })]
    #[test]
    fn wide_heaps_mark_everything_reachable(heap in wide_heap()) {
        check(&heap, true)?;
    }
}

/// A block wider than the worklist, live from a root: the original traps,
/// the rewritten collector marks all of it.
#[test]
fn a_wide_live_block_overflows_only_the_original() {
    let width = 20_000;
    let mut blocks: Vec<Block> = (0..width).map(|_| Block::new(4, vec![Word::Junk(7)])).collect();
    blocks.push(Block::new(4 * width as u32, (0..width).map(Word::Pointer).collect()));
    let heap = Heap {
        roots: vec![Word::Pointer(width)],
        blocks,
    };
    let m = modules();
    assert!(collect(&m.original, &heap).is_err());
    let marked = collect(&m.rewritten, &heap).unwrap();
    assert_eq!(marked.len(), width + 1);
}
