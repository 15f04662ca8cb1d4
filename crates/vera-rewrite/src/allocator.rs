//! A size-class allocator for Vera 0.2.3's `alloc`.
//!
//! Vera 0.2.3's `alloc` searches one free list, first fit, before it bumps
//! `heap_ptr`; the list is every block the last collection found dead, in
//! address order. A block is reused only when its size is at least the
//! request's, so a list of dead blocks that are all a little too small
//! (the `int_to_string` temporaries of a String-keyed chain, say) is
//! walked to the end by every allocation: 96% of such a run is that walk.
//! And when the bump space runs out after a collection it grows memory by
//! the shortfall alone, so a heap that is mostly live is collected again
//! every 64 KiB.
//!
//! [`size_classes`] finds that `alloc` by its shape (its whole body, as
//! 0.2.3 emits it, with or without the `VERA_EAGER_GC` collection at the
//! top) and gives it a new body with the same conventions: the same block
//! header (`size << 1 | mark`), the same 8-byte chain of blocks from the
//! heap start to `heap_ptr`, the same bump, heap ceiling and
//! `heap_exhausted` traps. What changes:
//!
//! - After each collection the collector's free list is sorted once into
//!   exact-size lists, one per block size up to 256 bytes, and one list of
//!   larger blocks. A request up to 256 bytes pops its size's list; a
//!   larger one, or a small one whose list is empty, takes the first of at
//!   most 64 large blocks that fits, and what is left of that block stays
//!   free as a block of its own. Every allocation is O(1).
//! - After a collection that leaves less free (in lists and above
//!   `heap_ptr`) than is live, memory grows by the difference, so the next
//!   collection comes only after as much again has been allocated: the
//!   time spent collecting stays proportional to what is allocated, and
//!   memory to twice what is live. A refused grow is no error; the
//!   original shortfall growth, and its trap, follow.
//!
//! The collector itself is not touched: its sweep still rebuilds its list
//! of every dead block from nothing at each collection, which is why the
//! size lists are dropped and rebuilt from it after each: other callers of
//! the collector (0.2.3's `register_wrapper`, when its table is full) call
//! a function that collects and relists. That needs every call of the
//! collector to be a plain `call`, and its list to be read and written by
//! `alloc` and the collector alone; a module where the collector escapes
//! (an export, a table, `ref.func`, a tail call) or anything else touches
//! the list is left as it is.

use std::collections::{HashMap, HashSet};

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, CodeSection, ConstExpr, GlobalType, Instruction, MemArg, TypeSection, ValType};
use wasmparser::{ExternalKind, Operator, Parser, Payload, TypeRef};

use crate::template::{match_at, parse_template, tokens};
use crate::Error;

/// 0.2.3's `heap_exhausted` signal, then `unreachable`.
macro_rules! heap_trap {
    () => {
        "
    i32.const 9
    i32.const 0
    i32.const 0
    call $trap
    unreachable
"
    };
}

/// 0.2.3's first-fit search of its free list: the first block at least
/// `$size` bytes, unlinked, its mark cleared, returned.
macro_rules! first_fit {
    () => {
        "
    i32.const 0
    local.set $prev
    global.get $free_head
    local.set $node
    block
    loop
    local.get $node
    i32.eqz
    br_if 1
    local.get $node
    i32.const 4
    i32.sub
    i32.load
    i32.const 1
    i32.shr_u
    local.set $node_size
    local.get $node_size
    local.get $size
    i32.ge_u
    if
    local.get $prev
    i32.eqz
    if
    local.get $node
    i32.load
    global.set $free_head
    else
    local.get $prev
    local.get $node
    i32.load
    i32.store
    end
    local.get $node
    i32.const 4
    i32.sub
    local.get $node_size
    i32.const 1
    i32.shl
    i32.store
    local.get $node
    return
    end
    local.get $node
    local.set $prev
    local.get $node
    i32.load
    local.set $node
    br 0
    end
    end
    global.get $heap_ptr
    local.get $total
    i32.add
    memory.size
    i32.const 16
    i32.shl
    i32.gt_u
    if
"
    };
}

/// The body of Vera 0.2.3's `alloc`, one instruction a line (see
/// [`crate::template`]): free-list first fit, bump, collect, first fit
/// again, grow by the shortfall, the heap-ceiling checks, bump.
const ALLOC: &str = concat!(
    "    local.get $size
    i32.const 0x80000000
    i32.and
    if
",
    heap_trap!(),
    "    end
    local.get $size
    i32.const 4
    i32.add
    i32.const 7
    i32.add
    i32.const -8
    i32.and
    local.set $total
",
    first_fit!(),
    "    call $collect
",
    first_fit!(),
    "    global.get $heap_ptr
    local.get $total
    i32.add
    memory.size
    i32.const 16
    i32.shl
    i32.sub
    i32.const 65535
    i32.add
    i32.const 16
    i32.shr_u
    memory.grow
    i32.const -1
    i32.eq
    if
",
    heap_trap!(),
    "    end
    end
    end
    local.get $total
    i32.const 0x80000000
    i32.ge_u
    if
",
    heap_trap!(),
    "    end
    global.get $heap_ptr
    i32.const 0x80000000
    local.get $total
    i32.sub
    i32.ge_u
    if
",
    heap_trap!(),
    "    end
    global.get $heap_ptr
    local.set $ptr
    local.get $ptr
    local.get $size
    i32.const 1
    i32.shl
    i32.store
    global.get $heap_ptr
    local.get $total
    i32.add
    global.set $heap_ptr
    local.get $ptr
    i32.const 4
    i32.add
    end
",
);

/// What `VERA_EAGER_GC=1` puts before the body: a collection on every call.
const EAGER_PREFIX: &str = "call $collect";

/// Block sizes (header included) with a list of their own: 8, 16, ... 256.
const CLASSES: u32 = 32;
const MAX_SMALL: i32 = 8 * CLASSES as i32;
/// How many large blocks a request looks at before it bumps instead.
const LARGE_TRIES: i32 = 64;
/// Functions the rewrite appends.
const APPENDED: u32 = 5;
/// Memory pages of the heap ceiling 0.2.3 enforces (2 GiB).
const CEILING_PAGES: i32 = 32768;

/// A rewritten module and what the rewrite found.
#[derive(Debug)]
pub struct SizeClassed {
    pub wasm: Vec<u8>,
    /// Function index of `alloc`, whose body was replaced.
    pub alloc: u32,
}

/// What the scan found of `alloc` and the collector.
#[derive(Clone, Copy)]
struct Found {
    alloc: u32,
    eager: bool,
    collect: u32,
    trap: u32,
    heap_ptr: u32,
    free_head: u32,
}

/// Indices of what the rewrite appends.
#[derive(Clone, Copy)]
struct Added {
    /// First of the `CLASSES` size-list heads; the large list's follows.
    heads: u32,
    large: u32,
    /// `() -> free bytes`: the collector's list into the size lists.
    relist: u32,
    /// `(size, total) -> payload or 0`: a block from the lists.
    take: u32,
    /// `(class) -> head` and `(class, head)`.
    head: u32,
    set_head: u32,
    /// What calls of the collector from outside `alloc` call instead.
    collect_and_relist: u32,
    /// First appended type: the functions' in that order.
    types: u32,
}

/// Rewrites `wasm`'s 0.2.3 `alloc` to allocate from size classes.
/// `Ok(None)`: no function has its shape, the collector is reached other
/// than by a plain `call`, or its free list has a user other than `alloc`
/// and the collector (the module is then left as it is).
pub fn size_classes(wasm: &[u8]) -> Result<Option<SizeClassed>, Error> {
    let plain = parse_template(ALLOC);
    let eager_text = format!("{EAGER_PREFIX}\n{ALLOC}");
    let eager = parse_template(&eager_text);
    let mut found: Vec<Found> = Vec::new();
    let (mut func_imports, mut global_imports, mut types, mut defined_funcs, mut defined_globals) = (0, 0, 0, 0, 0);
    let mut body_index = 0u32;
    // Who calls each function or touches each global, and what escapes.
    let mut callers: HashMap<u32, HashSet<u32>> = HashMap::new();
    let mut global_users: HashMap<u32, HashSet<u32>> = HashMap::new();
    let mut escaping_funcs: HashSet<u32> = HashSet::new();
    let mut exported_globals: HashSet<u32> = HashSet::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        crate::refs::note_indirect(&payload, &mut escaping_funcs)?;
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    types += group?.types().len() as u32;
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    match import?.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => func_imports += 1,
                        TypeRef::Global(_) => global_imports += 1,
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => defined_funcs = reader.count(),
            Payload::GlobalSection(reader) => defined_globals = reader.count(),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            escaping_funcs.insert(export.index);
                        }
                        ExternalKind::Global => {
                            exported_globals.insert(export.index);
                        }
                        _ => {}
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let func = func_imports + body_index;
                body_index += 1;
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    match ops.read()? {
                        Operator::Call { function_index } => {
                            callers.entry(function_index).or_default().insert(func);
                        }
                        Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } => {
                            global_users.entry(global_index).or_default().insert(func);
                        }
                        op => escaping_funcs.extend(crate::refs::escaping_op(&op)),
                    }
                }
                let (tokens, _) = tokens(&body)?;
                for (template, is_eager) in [(&plain, false), (&eager, true)] {
                    if template.len() != tokens.len() {
                        continue;
                    }
                    if let Some(b) = match_at(template, &tokens, 0) {
                        found.push(Found {
                            alloc: func,
                            eager: is_eager,
                            collect: b[&("func", "collect")],
                            trap: b[&("func", "trap")],
                            heap_ptr: b[&("global", "heap_ptr")],
                            free_head: b[&("global", "free_head")],
                        });
                    }
                }
            }
            _ => {}
        }
    }
    let Ok([found]) = <[Found; 1]>::try_from(found) else {
        return Ok(None);
    };
    let only =
        |users: Option<&HashSet<u32>>, allowed: &[u32]| users.is_none_or(|u| u.iter().all(|f| allowed.contains(f)));
    // Calls of the collector from elsewhere are redirected to one that
    // relists after it; a reference that escapes cannot be.
    let collector_is_private = !escaping_funcs.contains(&found.collect) && found.collect >= func_imports;
    let list_is_private = !exported_globals.contains(&found.free_head)
        && found.free_head >= global_imports
        && only(global_users.get(&found.free_head), &[found.alloc, found.collect]);
    if !collector_is_private || !list_is_private {
        return Ok(None);
    }
    let mut other_callers = callers.remove(&found.collect).unwrap_or_default();
    other_callers.remove(&found.alloc);
    let first_func = func_imports + defined_funcs;
    let heads = global_imports + defined_globals;
    let added = Added {
        heads,
        large: heads + CLASSES,
        relist: first_func,
        take: first_func + 1,
        head: first_func + 2,
        set_head: first_func + 3,
        collect_and_relist: first_func + 4,
        types,
    };
    let mut rewriter = Rewriter {
        found,
        added,
        other_callers,
        func_imports,
        bodies_seen: 0,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter.parse_core_module(&mut module, Parser::new(0), wasm)?;
    Ok(Some(SizeClassed {
        wasm: module.finish(),
        alloc: found.alloc,
    }))
}

struct Rewriter {
    found: Found,
    added: Added,
    /// Functions other than `alloc` that call the collector.
    other_callers: HashSet<u32>,
    func_imports: u32,
    bodies_seen: u32,
}

impl Reencode for Rewriter {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        use ValType::I32;
        types.ty().function([], [I32]);
        types.ty().function([I32, I32], [I32]);
        types.ty().function([I32], [I32]);
        types.ty().function([I32, I32], []);
        types.ty().function([], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for offset in 0..APPENDED {
            functions.function(self.added.types + offset);
        }
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        let list_head = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        for _ in 0..=CLASSES {
            globals.global(list_head, &ConstExpr::i32_const(0));
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.func_imports + self.bodies_seen;
        self.bodies_seen += 1;
        if index == self.found.alloc {
            code.function(&alloc(self.found, self.added));
            return Ok(());
        }
        if !self.other_callers.contains(&index) {
            return reencode::utils::parse_function_body(self, code, body);
        }
        let mut function = self.new_function_with_parsed_locals(&body)?;
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            match ops.read()? {
                Operator::Call { function_index } if function_index == self.found.collect => {
                    function.instruction(&Instruction::Call(self.added.collect_and_relist));
                }
                op => {
                    function.instruction(&self.instruction(op)?);
                }
            }
        }
        code.function(&function);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        code.function(&relist(self.found, self.added));
        code.function(&take(self.added));
        code.function(&list_head(self.added, false));
        code.function(&list_head(self.added, true));
        code.function(&function(
            &[],
            &[
                Instruction::Call(self.found.collect),
                Instruction::Call(self.added.relist),
                Instruction::Drop,
                Instruction::End,
            ],
        ));
        Ok(())
    }
}

const WORD: MemArg = MemArg {
    offset: 0,
    align: 2,
    memory_index: 0,
};
const EMPTY: BlockType = BlockType::Empty;

fn function(locals: &[ValType], code: &[Instruction<'_>]) -> wasm_encoder::Function {
    let mut f = wasm_encoder::Function::new(locals.iter().map(|&t| (1, t)));
    for instruction in code {
        f.instruction(instruction);
    }
    f
}

/// `[block] -> [block's total size]`: `align_up(size + 4, 8)` of its header,
/// the step of every walk over the heap.
fn block_total(block: u32) -> [Instruction<'static>; 10] {
    use Instruction as I;
    [
        I::LocalGet(block),
        I::I32Const(4),
        I::I32Sub,
        I::I32Load(WORD),
        I::I32Const(1),
        I::I32ShrU,
        I::I32Const(11),
        I::I32Add,
        I::I32Const(-8),
        I::I32And,
    ]
}

/// `[total] -> [class]` of a block of at most `MAX_SMALL` bytes.
const CLASS_OF: [Instruction<'static>; 4] = [
    Instruction::I32Const(3),
    Instruction::I32ShrU,
    Instruction::I32Const(1),
    Instruction::I32Sub,
];

/// 0.2.3's `heap_exhausted` signal, then `unreachable`.
fn heap_trap(found: Found) -> [Instruction<'static>; 5] {
    use Instruction as I;
    [
        I::I32Const(9),
        I::I32Const(0),
        I::I32Const(0),
        I::Call(found.trap),
        I::Unreachable,
    ]
}

/// The new `alloc(size) -> payload`.
fn alloc(found: Found, added: Added) -> wasm_encoder::Function {
    use Instruction as I;
    const SIZE: u32 = 0;
    const TOTAL: u32 = 1;
    const PTR: u32 = 2;
    const FREE: u32 = 3;
    const PAGES: u32 = 4;
    const ROOM: u32 = 5;
    const WANT: u32 = 6; // i64
    let mut code: Vec<I> = Vec::new();
    if found.eager {
        code.extend([I::Call(found.collect), I::Call(added.relist), I::Drop]);
    }
    // The original's size check and total.
    code.extend([I::LocalGet(SIZE), I::I32Const(i32::MIN), I::I32And, I::If(EMPTY)]);
    code.extend(heap_trap(found));
    code.extend([
        I::End,
        I::LocalGet(SIZE),
        I::I32Const(11),
        I::I32Add,
        I::I32Const(-8),
        I::I32And,
        I::LocalSet(TOTAL),
    ]);
    let from_lists = [
        I::LocalGet(SIZE),
        I::LocalGet(TOTAL),
        I::Call(added.take),
        I::LocalTee(PTR),
        I::If(EMPTY),
        I::LocalGet(PTR),
        I::Return,
        I::End,
    ];
    code.extend(from_lists.clone());
    // heap_ptr + total past the end of memory: collect.
    let past_memory = [
        I::GlobalGet(found.heap_ptr),
        I::LocalGet(TOTAL),
        I::I32Add,
        I::MemorySize(0),
        I::I32Const(16),
        I::I32Shl,
        I::I32GtU,
    ];
    code.extend(past_memory.clone());
    code.extend([
        I::If(EMPTY),
        I::Call(found.collect),
        I::Call(added.relist),
        I::LocalSet(FREE),
    ]);
    // Free after the collection (lists, and memory above heap_ptr) at least
    // what is live (below heap_ptr, not free) plus this request: grow by
    // the difference, up to the heap ceiling. (The heap starts a little
    // above 0, so this overstates what is live by the static data.)
    let u64_of = |i: I<'static>| [i, I::I64ExtendI32U];
    code.extend([I::MemorySize(0), I::I32Const(CEILING_PAGES), I::I32LtU, I::If(EMPTY)]);
    code.extend(u64_of(I::GlobalGet(found.heap_ptr)));
    code.extend(u64_of(I::LocalGet(FREE)));
    code.push(I::I64Sub);
    code.extend(u64_of(I::LocalGet(TOTAL)));
    code.push(I::I64Add);
    code.extend(u64_of(I::LocalGet(FREE)));
    code.extend(u64_of(I::MemorySize(0)));
    code.extend([I::I64Const(16), I::I64Shl]);
    code.extend(u64_of(I::GlobalGet(found.heap_ptr)));
    code.extend([
        I::I64Sub,
        I::I64Add,
        I::I64Sub,
        I::LocalTee(WANT),
        I::I64Const(0),
        I::I64GtS,
        I::If(EMPTY),
        I::LocalGet(WANT),
        I::I64Const(65535),
        I::I64Add,
        I::I64Const(16),
        I::I64ShrU,
        I::I32WrapI64,
        I::LocalSet(PAGES),
        I::I32Const(CEILING_PAGES),
        I::MemorySize(0),
        I::I32Sub,
        I::LocalSet(ROOM),
        I::LocalGet(PAGES),
        I::LocalGet(ROOM),
        I::LocalGet(PAGES),
        I::LocalGet(ROOM),
        I::I32LtU,
        I::Select,
        I::MemoryGrow(0),
        I::Drop,
        I::End,
        I::End,
    ]);
    code.extend(from_lists);
    // Still past the end: the original's growth by the shortfall.
    code.extend(past_memory.clone());
    code.push(I::If(EMPTY));
    code.extend(past_memory[..6].iter().cloned());
    code.extend([
        I::I32Sub,
        I::I32Const(65535),
        I::I32Add,
        I::I32Const(16),
        I::I32ShrU,
        I::MemoryGrow(0),
        I::I32Const(-1),
        I::I32Eq,
        I::If(EMPTY),
    ]);
    code.extend(heap_trap(found));
    code.extend([I::End, I::End, I::End]);
    // The original's heap ceiling, and bump.
    code.extend([I::LocalGet(TOTAL), I::I32Const(i32::MIN), I::I32GeU, I::If(EMPTY)]);
    code.extend(heap_trap(found));
    code.extend([
        I::End,
        I::GlobalGet(found.heap_ptr),
        I::I32Const(i32::MIN),
        I::LocalGet(TOTAL),
        I::I32Sub,
        I::I32GeU,
        I::If(EMPTY),
    ]);
    code.extend(heap_trap(found));
    code.extend([
        I::End,
        I::GlobalGet(found.heap_ptr),
        I::LocalTee(PTR),
        I::LocalGet(SIZE),
        I::I32Const(1),
        I::I32Shl,
        I::I32Store(WORD),
        I::GlobalGet(found.heap_ptr),
        I::LocalGet(TOTAL),
        I::I32Add,
        I::GlobalSet(found.heap_ptr),
        I::LocalGet(PTR),
        I::I32Const(4),
        I::I32Add,
        I::End,
    ]);
    use ValType::{I32, I64};
    function(&[I32, I32, I32, I32, I32, I64], &code)
}

/// `take(size, total) -> payload or 0`: the head of `total`'s size list,
/// else the first of the first `LARGE_TRIES` large blocks that holds
/// `total`, its rest left free as a block of its own.
fn take(added: Added) -> wasm_encoder::Function {
    use Instruction as I;
    const SIZE: u32 = 0;
    const TOTAL: u32 = 1;
    const CLASS: u32 = 2;
    const NODE: u32 = 3;
    const PREV: u32 = 4;
    const NEXT: u32 = 5;
    const REST_TOTAL: u32 = 6;
    const REST: u32 = 7;
    const TRIES: u32 = 8;
    // The header of the block taken: the request's size, unmarked, as a bump
    // writes it (the block's total is the request's, or the request's rest
    // is a block of its own).
    let header = [
        I::LocalGet(NODE),
        I::I32Const(4),
        I::I32Sub,
        I::LocalGet(SIZE),
        I::I32Const(1),
        I::I32Shl,
        I::I32Store(WORD),
        I::LocalGet(NODE),
        I::Return,
    ];
    let mut code = vec![
        I::LocalGet(TOTAL),
        I::I32Const(MAX_SMALL),
        I::I32LeU,
        I::If(EMPTY),
        I::LocalGet(TOTAL),
    ];
    code.extend(CLASS_OF);
    code.extend([
        I::LocalTee(CLASS),
        I::Call(added.head),
        I::LocalTee(NODE),
        I::If(EMPTY),
        I::LocalGet(CLASS),
        I::LocalGet(NODE),
        I::I32Load(WORD),
        I::Call(added.set_head),
    ]);
    code.extend(header.clone());
    code.extend([
        I::End,
        I::End,
        I::GlobalGet(added.large),
        I::LocalSet(NODE),
        I::I32Const(LARGE_TRIES),
        I::LocalSet(TRIES),
        I::Block(EMPTY),
        I::Loop(EMPTY),
        I::LocalGet(NODE),
        I::I32Eqz,
        I::LocalGet(TRIES),
        I::I32Eqz,
        I::I32Or,
        I::BrIf(1),
        I::LocalGet(TRIES),
        I::I32Const(1),
        I::I32Sub,
        I::LocalSet(TRIES),
        I::LocalGet(NODE),
        I::I32Load(WORD),
        I::LocalSet(NEXT),
    ]);
    code.extend(block_total(NODE));
    code.extend([
        I::LocalGet(TOTAL),
        I::I32Sub,
        I::LocalTee(REST_TOTAL),
        // Fits when total <= the block's, i.e. the difference does not wrap.
        I::I32Const(0),
        I::I32GeS,
        I::If(EMPTY),
        I::LocalGet(REST_TOTAL),
        I::If(EMPTY),
        // The rest: a block of its own, header and all.
        I::LocalGet(NODE),
        I::LocalGet(TOTAL),
        I::I32Add,
        I::LocalTee(REST),
        I::I32Const(4),
        I::I32Sub,
        I::LocalGet(REST_TOTAL),
        I::I32Const(4),
        I::I32Sub,
        I::I32Const(1),
        I::I32Shl,
        I::I32Store(WORD),
        I::LocalGet(REST_TOTAL),
        I::I32Const(MAX_SMALL),
        I::I32GtU,
        I::If(EMPTY),
        // Still large: it takes the block's place in the list.
        I::LocalGet(REST),
        I::LocalGet(NEXT),
        I::I32Store(WORD),
        I::LocalGet(REST),
        I::LocalSet(NEXT),
        I::Else,
        I::LocalGet(REST),
        I::LocalGet(REST_TOTAL),
    ]);
    code.extend(CLASS_OF);
    code.extend([I::Call(added.head), I::I32Store(WORD), I::LocalGet(REST_TOTAL)]);
    code.extend(CLASS_OF);
    code.extend([
        I::LocalGet(REST),
        I::Call(added.set_head),
        I::End,
        I::End,
        // Unlink the block.
        I::LocalGet(PREV),
        I::If(EMPTY),
        I::LocalGet(PREV),
        I::LocalGet(NEXT),
        I::I32Store(WORD),
        I::Else,
        I::LocalGet(NEXT),
        I::GlobalSet(added.large),
        I::End,
    ]);
    code.extend(header);
    code.extend([
        I::End,
        I::LocalGet(NODE),
        I::LocalSet(PREV),
        I::LocalGet(NEXT),
        I::LocalSet(NODE),
        I::Br(0),
        I::End,
        I::End,
        I::I32Const(0),
        I::End,
    ]);
    function(&[ValType::I32; 7], &code)
}

/// `relist() -> free bytes`: empties the size lists and the collector's
/// list, sorting each block of the latter into the former.
fn relist(found: Found, added: Added) -> wasm_encoder::Function {
    use Instruction as I;
    const NODE: u32 = 0;
    const NEXT: u32 = 1;
    const TOTAL: u32 = 2;
    const FREE: u32 = 3;
    const CLASS: u32 = 4;
    let mut code = Vec::new();
    // The collection listed every dead block anew: the lists from before
    // it are stale.
    for head in added.heads..=added.large {
        code.extend([I::I32Const(0), I::GlobalSet(head)]);
    }
    code.extend([
        I::GlobalGet(found.free_head),
        I::LocalSet(NODE),
        I::I32Const(0),
        I::GlobalSet(found.free_head),
        I::Block(EMPTY),
        I::Loop(EMPTY),
        I::LocalGet(NODE),
        I::I32Eqz,
        I::BrIf(1),
        I::LocalGet(NODE),
        I::I32Load(WORD),
        I::LocalSet(NEXT),
    ]);
    code.extend(block_total(NODE));
    code.extend([
        I::LocalTee(TOTAL),
        I::LocalGet(FREE),
        I::I32Add,
        I::LocalSet(FREE),
        I::LocalGet(TOTAL),
        I::I32Const(MAX_SMALL),
        I::I32LeU,
        I::If(EMPTY),
        I::LocalGet(TOTAL),
    ]);
    code.extend(CLASS_OF);
    code.extend([
        I::LocalSet(CLASS),
        I::LocalGet(NODE),
        I::LocalGet(CLASS),
        I::Call(added.head),
        I::I32Store(WORD),
        I::LocalGet(CLASS),
        I::LocalGet(NODE),
        I::Call(added.set_head),
        I::Else,
        I::LocalGet(NODE),
        I::GlobalGet(added.large),
        I::I32Store(WORD),
        I::LocalGet(NODE),
        I::GlobalSet(added.large),
        I::End,
        I::LocalGet(NEXT),
        I::LocalSet(NODE),
        I::Br(0),
        I::End,
        I::End,
        I::LocalGet(FREE),
        I::End,
    ]);
    function(&[ValType::I32; 5], &code)
}

/// `head(class) -> block` or, with `set`, `set_head(class, block)`: the
/// size lists' heads are globals, one per class, chosen by a `br_table`.
fn list_head(added: Added, set: bool) -> wasm_encoder::Function {
    use Instruction as I;
    let mut code: Vec<I> = (0..CLASSES).map(|_| I::Block(EMPTY)).collect();
    code.extend([
        I::LocalGet(0),
        I::BrTable((0..CLASSES).collect::<Vec<_>>().into(), CLASSES - 1),
    ]);
    for class in 0..CLASSES {
        code.push(I::End);
        let head = added.heads + class;
        if set {
            code.extend([I::LocalGet(1), I::GlobalSet(head), I::Return]);
        } else {
            code.extend([I::GlobalGet(head), I::Return]);
        }
    }
    code.push(I::End);
    function(&[], &code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fixture, validate};

    /// A minimal module whose `alloc` body is `body`, with the globals and
    /// functions it uses; `extra` is spliced in at module level.
    fn module_with(body: &str, extra: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
              (import "vera" "trap" (func $trap (param i32 i32 i32)))
              (memory (export "memory") 2)
              (global $heap_ptr (export "heap_ptr") (mut i32) (i32.const 1024))
              (global $free_head (mut i32) (i32.const 0))
              (func $collect i32.const 0 global.set $free_head)
              (func $alloc (export "alloc") (param $size i32) (result i32)
                    (local $total i32) (local $ptr i32) (local $prev i32) (local $node i32) (local $node_size i32)
                {})
              {extra})"#,
            body.trim_end().strip_suffix("end").expect("a body ends")
        ))
        .unwrap()
    }

    #[test]
    fn replaces_alloc_in_0_2_3_builds_plain_and_eager() {
        for name in [
            "wide_array_string.wasm",
            "wide_map_string_keys.wasm",
            "map_adt_keys.eager-gc.wasm",
            "wide_eager_array_string.eager-gc.wasm",
        ] {
            let wasm = fixture(name);
            let classed = size_classes(&wasm)
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: not found"));
            validate(&classed.wasm);
            // The new body is not the template: a second pass finds nothing.
            assert!(size_classes(&classed.wasm).unwrap().is_none(), "{name}");
        }
    }

    /// 0.2.5 emits the same `alloc` and a sweep that also lists every dead
    /// block anew.
    #[test]
    fn replaces_alloc_in_0_2_5_builds_too() {
        for name in ["json_objects.v025.wasm", "wide_array_string.v025.wasm"] {
            let classed = size_classes(&fixture(name))
                .unwrap()
                .unwrap_or_else(|| panic!("{name}"));
            validate(&classed.wasm);
        }
    }

    #[test]
    fn the_template_alone_is_recognised_and_one_change_is_not() {
        let classed = size_classes(&module_with(ALLOC, ""))
            .unwrap()
            .expect("the template itself");
        validate(&classed.wasm);
        let eager = size_classes(&module_with(&format!("{EAGER_PREFIX}\n{ALLOC}"), ""))
            .unwrap()
            .expect("the eager template");
        validate(&eager.wasm);
        let lines: Vec<&str> = ALLOC.lines().filter(|l| !l.trim().is_empty()).collect();
        let swaps = [
            ("i32.const 4", "i32.const 5"),
            ("i32.ge_u", "i32.gt_u"),
            ("i32.const 16", "i32.const 15"),
            ("i32.const 1", "i32.const 2"),
        ];
        let mut tried = 0;
        for (i, line) in lines.iter().enumerate() {
            let Some(&(_, other)) = swaps.iter().find(|(from, _)| line.trim() == *from) else {
                continue;
            };
            let mut changed = lines.clone();
            changed[i] = other;
            let wasm = module_with(&changed.join("\n"), "");
            assert!(size_classes(&wasm).unwrap().is_none(), "line {i}: {line} -> {other}");
            tried += 1;
        }
        assert!(tried > 15, "{tried}");
    }

    #[test]
    fn a_collector_or_list_that_escapes_is_left_alone() {
        for extra in [
            r#"(export "gc_collect" (func $collect))"#,
            r#"(export "free_head" (global $free_head))"#,
            r#"(table 1 funcref) (elem (i32.const 0) func $collect)"#,
            r#"(func $peek (result i32) global.get $free_head)"#,
            r#"(func $tail return_call $collect)"#,
        ] {
            assert!(size_classes(&module_with(ALLOC, extra)).unwrap().is_none(), "{extra}");
        }
        // A plain call from elsewhere is redirected, not refused.
        let wasm = module_with(ALLOC, r#"(func $full call $collect)"#);
        validate(&size_classes(&wasm).unwrap().expect("a plain caller").wasm);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(size_classes(b"\0asm\x01\0\0\0\x01\xff").is_err());
    }
}
