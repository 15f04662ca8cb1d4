//! An overflow-safe mark phase for Vera 0.2.3's garbage collector.
//!
//! Vera 0.2.3's `gc_collect` marks from the shadow stack with a worklist of
//! 16 384 entries between the shadow stack and the heap, and executes
//! `unreachable` when a push finds it full: any live block holding more
//! unmarked heap pointers than that (a wide bucket, a JSON object, an
//! `Array<String>`) ends the program, on every host.
//!
//! [`make_overflow_safe`] finds that mark phase by its shape (the exact
//! instruction sequence 0.2.3 emits for seeding the worklist from the
//! shadow stack and draining it, whatever the indices of its locals,
//! globals and helper), and replaces it with a call of a function appended
//! to the module that computes the same marking without a bound:
//!
//! - a block is marked when it is pushed (so each block is pushed once);
//! - a push that finds the worklist full marks the block all the same and
//!   remembers the lowest such block, which is then marked but not yet
//!   scanned;
//! - once the worklist is empty, a walk over the heap from that block up
//!   scans every marked block it meets (draining the worklist after each),
//!   which reaches every block marked but not scanned; a full push during a
//!   walk needs remembering only for blocks the walk has already passed.
//!
//! Every block reachable from the roots is marked, and no other, exactly
//! as the original marks wherever it does not overflow: the same root
//! range, the same test for a pointer (in the heap, aligned, an object
//! base by the module's own `gc_is_base`), the same bound on each scan.
//! Everything else in the collector (the bitmap of object bases, clearing
//! the marks, the wrapper table, the sweep, the free list) and the rest of
//! the module is untouched: function, type and global indices keep their
//! numbers.
//!
//! A module whose collector does not have this shape is left as it is;
//! [`worklist_overflow_sites`] then names the `unreachable` instructions
//! that a worklist overflow would reach, so the host can say what
//! happened.

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{CodeSection, Instruction, MemArg, TypeSection, ValType};
use wasmparser::{Parser, Payload};

use crate::template::{matches, parse_template, tokens, Pattern};
use crate::Error;

/// The mark phase of Vera 0.2.3's `gc_collect`, one instruction a line:
/// the seed from the shadow stack, then the drain. `$name` binds a local
/// (`local.*`), a global (`global.*`) or a function (`call`), the same
/// name the same index throughout; branch depths are relative, as in the
/// binary.
const MARK_PHASE: &str = "
    global.get $stack_base
    local.set $scan
    block
    loop
    local.get $scan
    global.get $sp
    i32.ge_u
    br_if 1
    local.get $scan
    i32.load
    local.set $val
    local.get $val
    global.get $heap_start
    i32.const 4
    i32.add
    i32.ge_u
    if
    local.get $val
    global.get $heap_ptr
    i32.lt_u
    if
    local.get $val
    global.get $heap_start
    i32.sub
    i32.const 7
    i32.and
    i32.const 4
    i32.eq
    local.get $val
    call $is_base
    i32.and
    if
    local.get $wl
    local.get $wl_end
    i32.ge_u
    if
    unreachable
    end
    local.get $wl
    local.get $val
    i32.store
    local.get $wl
    i32.const 4
    i32.add
    local.set $wl
    end
    end
    end
    local.get $scan
    i32.const 4
    i32.add
    local.set $scan
    br 0
    end
    end
    block
    loop
    local.get $wl
    local.get $wl_base
    i32.le_u
    br_if 1
    local.get $wl
    i32.const 4
    i32.sub
    local.set $wl
    local.get $wl
    i32.load
    local.set $obj
    local.get $obj
    i32.const 4
    i32.sub
    i32.load
    local.set $header
    local.get $header
    i32.const 1
    i32.shr_u
    local.set $size
    local.get $header
    i32.const 1
    i32.and
    if
    br 1
    end
    local.get $obj
    i32.const 4
    i32.sub
    local.get $header
    i32.const 1
    i32.or
    i32.store
    i32.const 0
    local.set $scan
    block
    loop
    local.get $scan
    local.get $size
    i32.ge_u
    br_if 1
    local.get $obj
    local.get $scan
    i32.add
    i32.const 4
    i32.add
    global.get $heap_ptr
    i32.gt_u
    br_if 1
    local.get $obj
    local.get $scan
    i32.add
    i32.load
    local.set $val
    local.get $val
    global.get $heap_start
    i32.const 4
    i32.add
    i32.ge_u
    if
    local.get $val
    global.get $heap_ptr
    i32.lt_u
    if
    local.get $val
    global.get $heap_start
    i32.sub
    i32.const 7
    i32.and
    i32.const 4
    i32.eq
    local.get $val
    call $is_base
    i32.and
    if
    local.get $val
    i32.const 4
    i32.sub
    i32.load
    i32.const 1
    i32.and
    i32.eqz
    if
    local.get $wl
    local.get $wl_end
    i32.ge_u
    if
    unreachable
    end
    local.get $wl
    local.get $val
    i32.store
    local.get $wl
    i32.const 4
    i32.add
    local.set $wl
    end
    end
    end
    end
    local.get $scan
    i32.const 4
    i32.add
    local.set $scan
    br 0
    end
    end
    br 0
    end
    end
";

/// A worklist push that traps when the worklist is full: where a 0.2.3
/// collector (or one shaped like it) stops on overflow.
const GUARDED_PUSH: &str = "
    local.get $wl
    local.get $wl_end
    i32.ge_u
    if
    unreachable
    end
    local.get $wl
    local.get $val
    i32.store
";

/// A rewritten module and what the rewrite found.
#[derive(Debug)]
pub struct OverflowSafe {
    pub wasm: Vec<u8>,
    /// Function index of the collector whose mark phase was replaced.
    pub collector: u32,
    /// Function index of the appended mark function.
    pub mark: u32,
}

/// What the scan of a module found: the one function holding the mark
/// phase, where it starts, and its bindings.
struct Found {
    func: u32,
    start: usize,
    len: usize,
    locals: (u32, u32),
    globals: MarkGlobals,
    is_base: u32,
}

/// The collector's globals the mark phase reads.
#[derive(Clone, Copy)]
struct MarkGlobals {
    stack_base: u32,
    sp: u32,
    heap_start: u32,
    heap_ptr: u32,
}

/// Rewrites `wasm` so that its 0.2.3 collector marks any heap without
/// overflowing its worklist. `Ok(None)`: no function has the mark phase's
/// shape, or more than one place does (the module is then left as it is).
pub fn make_overflow_safe(wasm: &[u8]) -> Result<Option<OverflowSafe>, Error> {
    let template = parse_template(MARK_PHASE);
    let mut func_imports = 0u32;
    let mut body_index = 0u32;
    let mut found: Vec<Found> = Vec::new();
    let mut type_count = 0u32;
    let mut defined = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    type_count += group?.types().len() as u32;
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(
                        import?.ty,
                        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                    ) {
                        func_imports += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => defined = reader.count(),
            Payload::CodeSectionEntry(body) => {
                let (tokens, _) = tokens(&body)?;
                for (start, b) in matches(&template, &tokens) {
                    found.push(Found {
                        func: func_imports + body_index,
                        start,
                        len: template.len(),
                        locals: (b[&("local", "wl_base")], b[&("local", "wl_end")]),
                        globals: MarkGlobals {
                            stack_base: b[&("global", "stack_base")],
                            sp: b[&("global", "sp")],
                            heap_start: b[&("global", "heap_start")],
                            heap_ptr: b[&("global", "heap_ptr")],
                        },
                        is_base: b[&("func", "is_base")],
                    });
                }
                body_index += 1;
            }
            _ => {}
        }
    }
    let Ok([found]) = <[Found; 1]>::try_from(found) else {
        return Ok(None);
    };
    let mark = func_imports + defined;
    let mut rewriter = Rewriter {
        found: &found,
        mark,
        mark_type: type_count,
        func_imports,
        bodies_seen: 0,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter.parse_core_module(&mut module, Parser::new(0), wasm)?;
    Ok(Some(OverflowSafe {
        wasm: module.finish(),
        collector: found.func,
        mark,
    }))
}

/// Module offset ranges of the guards that trap on a full worklist in a
/// collector shaped like 0.2.3's (a worklist push guarded by
/// `unreachable`), in any function: a trap inside one of them is a
/// worklist overflow. (A range, not the `unreachable`'s offset alone: the
/// engine may attribute the trap to the branch that guards it.)
pub fn worklist_overflow_sites(wasm: &[u8]) -> Result<Vec<std::ops::Range<usize>>, Error> {
    let template = parse_template(GUARDED_PUSH);
    let guard_end = template
        .iter()
        .position(|p| matches!(p, Pattern::Plain("end", None)))
        .expect("the template's guard ends");
    let mut sites = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload? {
            let (tokens, offsets) = tokens(&body)?;
            sites.extend(
                matches(&template, &tokens)
                    .into_iter()
                    .map(|(at, _)| offsets[at]..offsets[at + guard_end] + 1),
            );
        }
    }
    Ok(sites)
}

struct Rewriter<'a> {
    found: &'a Found,
    mark: u32,
    mark_type: u32,
    func_imports: u32,
    bodies_seen: u32,
}

impl Reencode for Rewriter<'_> {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32, ValType::I32], []);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        functions.function(self.mark_type);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.func_imports + self.bodies_seen;
        self.bodies_seen += 1;
        if index != self.found.func {
            return reencode::utils::parse_function_body(self, code, body);
        }
        let mut function = self.new_function_with_parsed_locals(&body)?;
        let mut ops = body.get_operators_reader()?;
        let mut position = 0;
        let (wl_base, wl_end) = self.found.locals;
        while !ops.eof() {
            let op = ops.read()?;
            let at = position;
            position += 1;
            if at == self.found.start {
                function.instruction(&Instruction::LocalGet(wl_base));
                function.instruction(&Instruction::LocalGet(wl_end));
                function.instruction(&Instruction::Call(self.mark));
            }
            if (self.found.start..self.found.start + self.found.len).contains(&at) {
                continue;
            }
            function.instruction(&self.instruction(op)?);
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
        code.function(&mark_function(self.found.globals, self.found.is_base));
        Ok(())
    }
}

/// The overflow-safe mark: `(wl_base, wl_end)`, the worklist's region.
fn mark_function(g: MarkGlobals, is_base: u32) -> wasm_encoder::Function {
    use Instruction as I;
    // Parameters 0, 1; then the locals.
    const WL_BASE: u32 = 0;
    const WL_END: u32 = 1;
    const WL: u32 = 2; // next free worklist entry
    const OBJ: u32 = 3; // the block being scanned
    const SIZE: u32 = 4; // its size in bytes
    const SCAN: u32 = 5; // offset of the word being read
    const VAL: u32 = 6; // that word
    const HEADER: u32 = 7;
    // Lowest block marked but neither scanned nor queued nor ahead of the
    // walk; u32::MAX when there is none.
    const PENDING: u32 = 8;
    // The walk's next block header; heap_ptr when no walk is under way
    // (so every block counts as passed).
    const WALK: u32 = 9;
    let word = MemArg {
        offset: 0,
        align: 2,
        memory_index: 0,
    };
    let empty = wasm_encoder::BlockType::Empty;
    let mut f = wasm_encoder::Function::new([(8, ValType::I32)]);
    let code = [
        I::LocalGet(WL_BASE),
        I::LocalSet(WL),
        I::I32Const(-1),
        I::LocalSet(PENDING),
        I::GlobalGet(g.heap_ptr),
        I::LocalSet(WALK),
        // The first "block" scanned is the shadow stack, the roots.
        I::GlobalGet(g.stack_base),
        I::LocalSet(OBJ),
        I::GlobalGet(g.sp),
        I::GlobalGet(g.stack_base),
        I::I32Sub,
        I::LocalSet(SIZE),
        I::Block(empty), // $exit
        I::Loop(empty),  // $next: scan OBJ's SIZE bytes
        I::I32Const(0),
        I::LocalSet(SCAN),
        I::Block(empty), // $scanned
        I::Loop(empty),  // $word
        I::LocalGet(SCAN),
        I::LocalGet(SIZE),
        I::I32GeU,
        I::BrIf(1),
        // As the original: never read at or past heap_ptr.
        I::LocalGet(OBJ),
        I::LocalGet(SCAN),
        I::I32Add,
        I::I32Const(4),
        I::I32Add,
        I::GlobalGet(g.heap_ptr),
        I::I32GtU,
        I::BrIf(1),
        I::LocalGet(OBJ),
        I::LocalGet(SCAN),
        I::I32Add,
        I::I32Load(word),
        I::LocalSet(VAL),
        // A heap pointer: in [heap_start + 4, heap_ptr), at a block body's
        // alignment, and an object base.
        I::LocalGet(VAL),
        I::GlobalGet(g.heap_start),
        I::I32Const(4),
        I::I32Add,
        I::I32GeU,
        I::If(empty),
        I::LocalGet(VAL),
        I::GlobalGet(g.heap_ptr),
        I::I32LtU,
        I::If(empty),
        I::LocalGet(VAL),
        I::GlobalGet(g.heap_start),
        I::I32Sub,
        I::I32Const(7),
        I::I32And,
        I::I32Const(4),
        I::I32Eq,
        I::If(empty),
        I::LocalGet(VAL),
        I::Call(is_base),
        I::If(empty),
        I::LocalGet(VAL),
        I::I32Const(4),
        I::I32Sub,
        I::I32Load(word),
        I::LocalTee(HEADER),
        I::I32Const(1),
        I::I32And,
        I::I32Eqz,
        I::If(empty),
        // Unmarked: mark it, then queue it, or remember it.
        I::LocalGet(VAL),
        I::I32Const(4),
        I::I32Sub,
        I::LocalGet(HEADER),
        I::I32Const(1),
        I::I32Or,
        I::I32Store(word),
        I::LocalGet(WL),
        I::LocalGet(WL_END),
        I::I32LtU,
        I::If(empty),
        I::LocalGet(WL),
        I::LocalGet(VAL),
        I::I32Store(word),
        I::LocalGet(WL),
        I::I32Const(4),
        I::I32Add,
        I::LocalSet(WL),
        I::Else,
        // Full. A block ahead of the walk will be scanned when the walk
        // reaches it; one behind it (or any, between walks) is pending.
        I::LocalGet(VAL),
        I::I32Const(4),
        I::I32Sub,
        I::LocalGet(WALK),
        I::I32LtU,
        I::LocalGet(VAL),
        I::LocalGet(PENDING),
        I::I32LtU,
        I::I32And,
        I::If(empty),
        I::LocalGet(VAL),
        I::LocalSet(PENDING),
        I::End,
        I::End,
        I::End,
        I::End,
        I::End,
        I::End,
        I::End,
        I::LocalGet(SCAN),
        I::I32Const(4),
        I::I32Add,
        I::LocalSet(SCAN),
        I::Br(0),
        I::End, // $word
        I::End, // $scanned
        // The next block to scan: from the worklist, else the walk's next
        // marked block, else a new walk from the lowest pending block.
        I::Block(empty), // $chosen
        I::LocalGet(WL),
        I::LocalGet(WL_BASE),
        I::I32GtU,
        I::If(empty),
        I::LocalGet(WL),
        I::I32Const(4),
        I::I32Sub,
        I::LocalTee(WL),
        I::I32Load(word),
        I::LocalSet(OBJ),
        I::Br(1),
        I::End,
        I::Loop(empty), // $walk
        I::LocalGet(WALK),
        I::GlobalGet(g.heap_ptr),
        I::I32LtU,
        I::If(empty),
        I::LocalGet(WALK),
        I::I32Const(4),
        I::I32Add,
        I::LocalSet(OBJ),
        I::LocalGet(WALK),
        I::I32Load(word),
        I::LocalTee(HEADER),
        // The next header: as Phase 1 and the sweep step, align_up(size + 4, 8).
        I::I32Const(1),
        I::I32ShrU,
        I::I32Const(11),
        I::I32Add,
        I::I32Const(-8),
        I::I32And,
        I::LocalGet(WALK),
        I::I32Add,
        I::LocalSet(WALK),
        I::LocalGet(HEADER),
        I::I32Const(1),
        I::I32And,
        I::BrIf(2), // marked: $chosen
        I::Br(1),   // $walk
        I::End,
        I::LocalGet(PENDING),
        I::I32Const(-1),
        I::I32Eq,
        I::BrIf(3), // nothing left: $exit
        I::LocalGet(PENDING),
        I::I32Const(4),
        I::I32Sub,
        I::LocalSet(WALK),
        I::I32Const(-1),
        I::LocalSet(PENDING),
        I::Br(0), // $walk
        I::End,   // $walk
        I::End,   // $chosen
        I::LocalGet(OBJ),
        I::I32Const(4),
        I::I32Sub,
        I::I32Load(word),
        I::I32Const(1),
        I::I32ShrU,
        I::LocalSet(SIZE),
        I::Br(0), // $next
        I::End,   // $next
        I::End,   // $exit
        I::End,
    ];
    for instruction in &code {
        f.instruction(instruction);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fixture, validate};

    /// A minimal module around `body` (the template's globals and helper).
    fn module_with(body: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
              (memory (export "memory") 2)
              (global $stack_base i32 (i32.const 0))
              (global $sp (mut i32) (i32.const 0))
              (global $heap_start i32 (i32.const 81920))
              (global $heap_ptr (mut i32) (i32.const 81920))
              (func $is_base (param i32) (result i32) i32.const 1)
              (func $collect (local $scan i32) (local $val i32) (local $wl i32) (local $wl_base i32)
                    (local $wl_end i32) (local $obj i32) (local $header i32) (local $size i32)
                {body}))"#
        ))
        .unwrap()
    }

    #[test]
    fn replaces_the_mark_phase_of_every_0_2_3_build() {
        for name in [
            "wide_array_string.wasm",
            "wide_map_string_keys.wasm",
            "map_adt_keys.eager-gc.wasm",
        ] {
            let wasm = fixture(name);
            assert_eq!(worklist_overflow_sites(&wasm).unwrap().len(), 2, "{name}");
            let safe = make_overflow_safe(&wasm)
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: not found"));
            validate(&safe.wasm);
            // Nothing of the overflowing mark phase is left.
            assert!(worklist_overflow_sites(&safe.wasm).unwrap().is_empty(), "{name}");
            assert!(make_overflow_safe(&safe.wasm).unwrap().is_none(), "{name}");
        }
    }

    #[test]
    fn leaves_a_0_2_5_collector_alone() {
        let wasm = fixture("json_objects.v025.wasm");
        assert!(make_overflow_safe(&wasm).unwrap().is_none());
        assert!(worklist_overflow_sites(&wasm).unwrap().is_empty());
    }

    #[test]
    fn the_template_alone_is_recognised_and_one_change_is_not() {
        let wasm = module_with(MARK_PHASE);
        let safe = make_overflow_safe(&wasm).unwrap().expect("the template itself");
        validate(&safe.wasm);
        assert_eq!((safe.collector, safe.mark), (1, 2));
        // Any one instruction different: not the collector we know.
        let lines: Vec<&str> = MARK_PHASE.lines().filter(|l| !l.trim().is_empty()).collect();
        let swaps = [
            ("i32.const 4", "i32.const 5"),
            ("i32.ge_u", "i32.gt_u"),
            ("i32.lt_u", "i32.le_u"),
        ];
        let mut tried = 0;
        for (i, line) in lines.iter().enumerate() {
            let Some(&(_, other)) = swaps.iter().find(|(from, _)| line.trim() == *from) else {
                continue;
            };
            let mut changed = lines.clone();
            changed[i] = other;
            let wasm = module_with(&changed.join("\n"));
            assert!(
                make_overflow_safe(&wasm).unwrap().is_none(),
                "line {i}: {line} -> {other}"
            );
            tried += 1;
        }
        assert!(tried > 20);
    }

    #[test]
    fn two_mark_phases_are_ambiguous() {
        let wasm = module_with(&format!("{MARK_PHASE}\n{MARK_PHASE}"));
        assert!(make_overflow_safe(&wasm).unwrap().is_none());
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(make_overflow_safe(b"\0asm\x01\0\0\0\x01\xff").is_err());
        assert!(worklist_overflow_sites(b"\0asm\x01\0\0\0\x0a\xff").is_err());
    }
}
