//! Load-time rewriting of a Vera module so that chosen imports receive the
//! guest's bump pointer as an argument and hand its new value back.
//!
//! Every host import that builds something in guest memory (a Map/Set
//! version, an `Option`) must read the module's `heap_ptr` global to
//! bump-allocate, and write it back afterwards. Through an embedder's API
//! a global access costs hundreds of instructions, more than the
//! collection operation itself. So before compiling, vera-rt rewrites
//! each call of such an import from
//!
//! ```text
//! call $map_insert                      ;; (w, key, val) -> w'
//! ```
//! to
//! ```text
//! global.get $heap_ptr
//! call $map_insert                      ;; (w, key, val, heap_ptr) -> (w', heap_ptr')
//! global.set $heap_ptr
//! ```
//! and gives the import that widened type. The module's own code is
//! otherwise untouched (function, type and global indices keep their
//! numbers), so the rewritten module behaves exactly as the original.
//!
//! An import is rewritten only when every use of it is a plain `call`: one
//! that is exported, put in a table, taken by `ref.func` or tail-called
//! keeps its type. The pointer must be a mutable `i32` global the module
//! defines and exports.
//!
//! A rewritten import may also get a replacement: a function the caller
//! supplies (with the import's original type), appended to the module,
//! which its call sites then call instead; it does part of the import's
//! work inside the module and calls the widened import for the rest.
//!
//! [`collector`] replaces the mark phase of Vera 0.2.3's garbage collector
//! with one that cannot overflow its worklist; [`allocator`] gives Vera's
//! `alloc` size classes; [`collections`] has a 0.2.4+ module's own Map/Set
//! code call vera-rt's imports. [`prepare`] applies all three, as every
//! vera-rt runtime (the CLI, and the browser's through wasm32) loads a
//! module.
//!
//! This crate knows WebAssembly and the shape of Vera's generated code, not
//! wasmtime or Vera's Map/Set layout.

pub mod allocator;
pub mod collections;
pub mod collector;
mod refs;
mod template;
#[cfg(test)]
mod testing;

use std::collections::{HashMap, HashSet};
use std::fmt;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{CodeSection, EntityType, ImportSection, Instruction, TypeSection};
use wasmparser::{ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, ValType};

/// A module as vera-rt loads it by default, and what was replaced.
#[derive(Debug)]
pub struct Prepared {
    pub wasm: Vec<u8>,
    /// The module's own Map/Set code now calls vera-rt's imports
    /// ([`collections::host_collections`]).
    pub host_collections: bool,
    /// [`collector::make_overflow_safe`] applied.
    pub overflow_safe_mark: bool,
    /// [`allocator::size_classes`] applied.
    pub size_classes: bool,
}

/// Every rewrite vera-rt applies to a module's runtime at load, before its
/// call sites are threaded, each on the result of the one before where it
/// applies: vera-rt's collections in place of a 0.2.4+ module's own (for
/// the imports Vera 0.2.3 declares, with its signatures), the overflow-safe
/// mark phase, size classes. `None`: none applies (or the module is
/// malformed: it is then compiled as given, and the engine says what is
/// wrong with it).
pub fn prepare(wasm: &[u8]) -> Option<Prepared> {
    let mut current: Option<Vec<u8>> = None;
    let mut then = |rewrite: &dyn Fn(&[u8]) -> Rewrite| -> bool {
        match rewrite(current.as_deref().unwrap_or(wasm)) {
            Ok(Some(rewritten)) => {
                current = Some(rewritten);
                true
            }
            _ => false,
        }
    };
    let host_collections = then(&|w| Ok(collections::host_collections(w, declared_by_vera_0_2_3)?.map(|h| h.wasm)));
    let overflow_safe_mark = then(&|w| Ok(collector::make_overflow_safe(w)?.map(|s| s.wasm)));
    let size_classes = then(&|w| Ok(allocator::size_classes(w)?.map(|c| c.wasm)));
    Some(Prepared {
        wasm: current?,
        host_collections,
        overflow_safe_mark,
        size_classes,
    })
}

/// One rewrite's outcome: the rewritten module, `None` when it does not
/// apply.
type Rewrite = Result<Option<Vec<u8>>, Error>;

/// Whether Vera 0.2.3 declares a `Map`/`Set` import `name` of type `ty`.
fn declared_by_vera_0_2_3(name: &str, ty: &FuncType) -> bool {
    use vera_layout::import::{Import, Wasm};
    let types = |list: &[ValType]| -> Option<Vec<Wasm>> {
        list.iter()
            .map(|t| match t {
                ValType::I32 => Some(Wasm::I32),
                ValType::I64 => Some(Wasm::I64),
                ValType::F64 => Some(Wasm::F64),
                _ => None,
            })
            .collect()
    };
    let declared = types(ty.params()).zip(types(ty.results()));
    Import::parse(name).is_some_and(|import| declared == Some(import.signature()))
}

/// A rewritten module and the imports that now carry the pointer.
#[derive(Debug)]
pub struct Threaded {
    pub wasm: Vec<u8>,
    /// `(module, name)` of every rewritten import.
    pub imports: Vec<(String, String)>,
    /// `(module, name)` of the rewritten imports whose calls now go to a
    /// replacement.
    pub replaced: Vec<(String, String)>,
}

/// What a replacement for an import is built against.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    pub module: &'a str,
    pub name: &'a str,
    /// Function index of the (widened) import, for the replacement to call.
    pub import: u32,
    /// Global index of the pointer.
    pub pointer: u32,
    /// Memory 0 exists and has 32-bit addresses.
    pub memory32: bool,
}

/// Why a module could not be rewritten (it is then used as it is; the
/// engine reports whatever is wrong with it).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error(e.to_string())
    }
}

impl<E: fmt::Display> From<reencode::Error<E>> for Error {
    fn from(e: reencode::Error<E>) -> Self {
        Error(e.to_string())
    }
}

/// Rewrites the module in `wasm` (binary format) so that every import
/// `wanted(module, name)` accepts, and that is only ever called directly,
/// takes the value of the exported global `pointer` as an extra last
/// parameter and returns its new value as an extra last result. Where
/// `replace` gives a function for such an import, its calls go to that
/// function instead. `Ok(None)`: nothing to rewrite (no such import, or no
/// such global).
pub fn thread_pointer(
    wasm: &[u8],
    pointer: &str,
    wanted: impl Fn(&str, &str) -> bool,
    replace: impl Fn(&Site) -> Option<wasm_encoder::Function>,
) -> Result<Option<Threaded>, Error> {
    let scan = Scan::of(wasm, pointer)?;
    let Some(global) = scan.pointer_global() else {
        return Ok(None);
    };
    let mut threaded = HashSet::new();
    let mut names = Vec::new();
    let mut widened: Vec<u32> = Vec::new();
    for (index, import) in scan.func_imports.iter().enumerate() {
        let index = index as u32;
        let plain_func_type = scan.func_types.get(import.ty as usize).is_some_and(Option::is_some);
        if !import.exact && plain_func_type && !scan.escaping.contains(&index) && wanted(&import.module, &import.name) {
            threaded.insert(index);
            names.push((import.module.clone(), import.name.clone()));
            if !widened.contains(&import.ty) {
                widened.push(import.ty);
            }
        }
    }
    if threaded.is_empty() {
        return Ok(None);
    }
    let type_count = scan.func_types.len() as u32;
    let mut replacements = Vec::new();
    let mut replaced = Vec::new();
    let first_new = scan.func_imports.len() as u32 + scan.defined_funcs;
    for (index, import) in scan.func_imports.iter().enumerate() {
        let index = index as u32;
        if !threaded.contains(&index) || scan.defined_funcs == 0 {
            continue;
        }
        let site = Site {
            module: &import.module,
            name: &import.name,
            import: index,
            pointer: global,
            memory32: scan.memory32,
        };
        if let Some(body) = replace(&site) {
            replacements.push(Replacement {
                import: index,
                index: first_new + replacements.len() as u32,
                ty: import.ty,
                body,
            });
            replaced.push((import.module.clone(), import.name.clone()));
        }
    }
    let mut rewriter = Rewriter {
        global,
        threaded,
        widened_type: widened
            .iter()
            .enumerate()
            .map(|(i, &ty)| (ty, type_count + i as u32))
            .collect(),
        widened,
        func_types: scan.func_types,
        replacement_of: replacements.iter().map(|r| (r.import, r.index)).collect(),
        replacements,
        func_imports_seen: 0,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter.parse_core_module(&mut module, Parser::new(0), wasm)?;
    Ok(Some(Threaded {
        wasm: module.finish(),
        imports: names,
        replaced,
    }))
}

/// A function appended to the module that the calls of `import` go to.
struct Replacement {
    /// The import's function index.
    import: u32,
    /// Its function index.
    index: u32,
    /// The import's original type.
    ty: u32,
    body: wasm_encoder::Function,
}

struct FuncImport {
    module: String,
    name: String,
    ty: u32,
    /// Imported with an exact type (`FuncExact`): left alone.
    exact: bool,
}

/// What the first pass learns: types, imports, the pointer global, and
/// which functions are used other than by a direct `call`.
#[derive(Default)]
struct Scan {
    /// Every type index; `None` for a type that is not a plain function of
    /// numbers (only those are widened: they mean the same in any
    /// recursion group).
    func_types: Vec<Option<FuncType>>,
    func_imports: Vec<FuncImport>,
    imported_globals: u32,
    /// Functions the module defines.
    defined_funcs: u32,
    /// Memory 0 exists and has 32-bit addresses.
    memory32: bool,
    /// Memories seen so far (imported, then defined).
    memories: u32,
    /// Types of the globals the module defines.
    defined_globals: Vec<wasmparser::GlobalType>,
    pointer_export: Option<u32>,
    /// Functions exported, in tables, taken by `ref.func`, tail-called or
    /// the start function.
    escaping: HashSet<u32>,
}

impl Scan {
    fn of(wasm: &[u8], pointer: &str) -> Result<Scan, Error> {
        let mut scan = Scan::default();
        for payload in Parser::new(0).parse_all(wasm) {
            let payload = payload?;
            refs::note_indirect(&payload, &mut scan.escaping)?;
            match payload {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.into_types() {
                            let func = match &sub.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f)
                                    if sub.is_final
                                        && sub.supertype_idx.is_none()
                                        && !sub.composite_type.shared
                                        && f.params().iter().chain(f.results()).all(|t| {
                                            matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64)
                                        }) =>
                                {
                                    Some(f.clone())
                                }
                                _ => None,
                            };
                            scan.func_types.push(func);
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        match import.ty {
                            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => scan.func_imports.push(FuncImport {
                                module: import.module.to_owned(),
                                name: import.name.to_owned(),
                                ty,
                                exact: matches!(import.ty, TypeRef::FuncExact(_)),
                            }),
                            TypeRef::Global(_) => scan.imported_globals += 1,
                            TypeRef::Memory(memory) => scan.memory(memory),
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(reader) => scan.defined_funcs = reader.count(),
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        scan.memory(memory?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        let global = global?;
                        scan.defined_globals.push(global.ty);
                        scan.escapes_in(global.init_expr.get_operators_reader())?;
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader {
                        if let wasmparser::TableInit::Expr(expr) = table?.init {
                            scan.escapes_in(expr.get_operators_reader())?;
                        }
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        match export.kind {
                            ExternalKind::Func | ExternalKind::FuncExact => {
                                scan.escaping.insert(export.index);
                            }
                            ExternalKind::Global if export.name == pointer => scan.pointer_export = Some(export.index),
                            _ => {}
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => scan.escapes_in(body.get_operators_reader()?)?,
                _ => {}
            }
        }
        Ok(scan)
    }

    fn memory(&mut self, memory: wasmparser::MemoryType) {
        if self.memories == 0 {
            self.memory32 = !memory.memory64;
        }
        self.memories += 1;
    }

    /// Records the functions `ops` use other than by a direct `call`.
    fn escapes_in(&mut self, mut ops: wasmparser::OperatorsReader<'_>) -> Result<(), Error> {
        while !ops.eof() {
            self.escaping.extend(refs::escaping_op(&ops.read()?));
        }
        Ok(())
    }

    /// The index of the exported pointer global, when the module defines
    /// it as a mutable `i32`.
    fn pointer_global(&self) -> Option<u32> {
        let index = self.pointer_export?;
        let defined = self
            .defined_globals
            .get(index.checked_sub(self.imported_globals)? as usize)?;
        (defined.mutable && !defined.shared && defined.content_type == ValType::I32).then_some(index)
    }
}

/// The second pass: copies the module, widening the chosen imports and
/// wrapping their call sites.
struct Rewriter {
    global: u32,
    /// Function indices of the rewritten imports.
    threaded: HashSet<u32>,
    /// Original type indices that get a widened copy, in order.
    widened: Vec<u32>,
    /// Original type index -> index of its widened copy.
    widened_type: HashMap<u32, u32>,
    func_types: Vec<Option<FuncType>>,
    replacements: Vec<Replacement>,
    /// Import function index -> the index of its replacement.
    replacement_of: HashMap<u32, u32>,
    /// Function imports copied so far (the next one's index).
    func_imports_seen: u32,
}

impl Reencode for Rewriter {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        for &ty in &self.widened.clone() {
            let Some(Some(func)) = self.func_types.get(ty as usize).cloned() else {
                continue;
            };
            let widen = |list: &[ValType], this: &mut Self| -> Result<Vec<_>, reencode::Error<Self::Error>> {
                let mut out = list.iter().map(|&t| this.val_type(t)).collect::<Result<Vec<_>, _>>()?;
                out.push(wasm_encoder::ValType::I32);
                Ok(out)
            };
            let params = widen(func.params(), self)?;
            let results = widen(func.results(), self)?;
            types.ty().function(params, results);
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for import in section.into_imports() {
            let import = import?;
            let widened = match import.ty {
                TypeRef::Func(ty) if self.threaded.contains(&self.func_imports_seen) => self.widened_type.get(&ty),
                _ => None,
            };
            let ty = match widened {
                Some(&ty) => EntityType::Function(ty),
                None => self.entity_type(import.ty)?,
            };
            if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                self.func_imports_seen += 1;
            }
            imports.import(import.module, import.name, ty);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let mut function = self.new_function_with_parsed_locals(&body)?;
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let op = ops.read()?;
            if let Operator::Call { function_index } = op {
                if let Some(&index) = self.replacement_of.get(&function_index) {
                    function.instruction(&Instruction::Call(index));
                    continue;
                }
                if self.threaded.contains(&function_index) {
                    function.instruction(&Instruction::GlobalGet(self.global));
                    function.instruction(&Instruction::Call(function_index));
                    function.instruction(&Instruction::GlobalSet(self.global));
                    continue;
                }
            }
            function.instruction(&self.instruction(op)?);
        }
        code.function(&function);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for replacement in &self.replacements {
            functions.function(replacement.ty);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        for replacement in &self.replacements {
            code.function(&replacement.body);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = r#"
      (module
        (import "vera" "grow" (func $grow (param i32 i64) (result i32)))
        (import "vera" "other" (func $other (param i32)))
        GLOBAL
        (memory (export "memory") 1)
        (func (export "main") (result i32)
          (call $other (call $grow (i32.const 1) (i64.const 2)))
          (call $grow (i32.const 3) (i64.const 4)))
        EXTRA)
    "#;
    const POINTER: &str = r#"(global $hp (export "heap_ptr") (mut i32) (i32.const 1024))"#;

    fn module(global: &str, extra: &str) -> String {
        MODULE.replace("GLOBAL", global).replace("EXTRA", extra)
    }

    fn rewrite(wat: &str, wanted: &str) -> Option<Threaded> {
        let wasm = wat::parse_str(wat).unwrap();
        thread_pointer(&wasm, "heap_ptr", |m, n| m == "vera" && n == wanted, |_| None).unwrap()
    }

    fn validate(wasm: &[u8]) {
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(wasm)
            .unwrap();
    }

    /// An import's name, parameters and results.
    type Signature = (String, Vec<ValType>, Vec<ValType>);

    /// The rewritten module's import types and the operators of its one body.
    fn shape(wasm: &[u8]) -> (Vec<Signature>, Vec<String>) {
        let mut types = Vec::new();
        let mut imports = Vec::new();
        let mut body = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::TypeSection(r) => {
                    for t in r.into_iter_err_on_gc_types() {
                        types.push(t.unwrap());
                    }
                }
                Payload::ImportSection(r) => {
                    for i in r.into_imports() {
                        let i = i.unwrap();
                        let TypeRef::Func(t) = i.ty else { panic!() };
                        let f: &FuncType = &types[t as usize];
                        imports.push((i.name.to_owned(), f.params().to_vec(), f.results().to_vec()));
                    }
                }
                Payload::CodeSectionEntry(b) => {
                    let mut ops = b.get_operators_reader().unwrap();
                    while !ops.eof() {
                        body.push(format!("{:?}", ops.read().unwrap()));
                    }
                }
                _ => {}
            }
        }
        (imports, body)
    }

    #[test]
    fn widens_the_import_and_wraps_each_call() {
        let threaded = rewrite(&module(POINTER, ""), "grow").expect("rewritten");
        validate(&threaded.wasm);
        assert_eq!(threaded.imports, vec![("vera".to_owned(), "grow".to_owned())]);
        let (imports, body) = shape(&threaded.wasm);
        assert_eq!(
            imports[0],
            (
                "grow".into(),
                vec![ValType::I32, ValType::I64, ValType::I32],
                vec![ValType::I32, ValType::I32]
            )
        );
        assert_eq!(imports[1], ("other".into(), vec![ValType::I32], vec![]));
        let calls: Vec<&str> = body
            .iter()
            .map(String::as_str)
            .filter(|op| !op.starts_with("I"))
            .collect();
        assert_eq!(
            calls,
            [
                "GlobalGet { global_index: 0 }",
                "Call { function_index: 0 }",
                "GlobalSet { global_index: 0 }",
                "Call { function_index: 1 }",
                "GlobalGet { global_index: 0 }",
                "Call { function_index: 0 }",
                "GlobalSet { global_index: 0 }",
                "End",
            ]
        );
    }

    #[test]
    fn calls_go_to_a_replacement_that_calls_the_widened_import() {
        let wasm = wat::parse_str(module(POINTER, "")).unwrap();
        let replace = |site: &Site| {
            assert!(site.memory32);
            // (w, key) -> the import's result, passing the pointer along.
            let mut f = wasm_encoder::Function::new([]);
            for i in [
                Instruction::LocalGet(0),
                Instruction::LocalGet(1),
                Instruction::GlobalGet(site.pointer),
                Instruction::Call(site.import),
                Instruction::GlobalSet(site.pointer),
                Instruction::End,
            ] {
                f.instruction(&i);
            }
            (site.name == "grow").then_some(f)
        };
        let threaded = thread_pointer(&wasm, "heap_ptr", |_, n| n == "grow", replace)
            .unwrap()
            .unwrap();
        validate(&threaded.wasm);
        assert_eq!(threaded.replaced, vec![("vera".to_owned(), "grow".to_owned())]);
        let (_, body) = shape(&threaded.wasm);
        // Two imports and `main`: the replacement is function 3.
        let calls: Vec<&str> = body
            .iter()
            .map(String::as_str)
            .filter(|op| op.starts_with("Call"))
            .collect();
        assert_eq!(
            calls,
            [
                "Call { function_index: 3 }",
                "Call { function_index: 1 }",
                "Call { function_index: 3 }",
                "Call { function_index: 0 }",
            ]
        );
    }

    #[test]
    fn leaves_imports_used_other_than_by_call() {
        let uses = [
            r#"(elem declare func $grow) (func (drop (ref.func $grow)))"#,
            r#"(table 1 funcref) (elem (i32.const 0) $grow)"#,
            r#"(export "grow_again" (func $grow))"#,
            r#"(func (param i32 i64) (result i32) (return_call $grow (local.get 0) (local.get 1)))"#,
        ];
        for extra in uses {
            assert!(rewrite(&module(POINTER, extra), "grow").is_none(), "{extra}");
        }
    }

    #[test]
    fn needs_an_exported_mutable_i32_pointer() {
        for global in [
            r#"(global $hp (export "other") (mut i32) (i32.const 1024))"#,
            r#"(global $hp (export "heap_ptr") i32 (i32.const 1024))"#,
            r#"(global $hp (export "heap_ptr") (mut i64) (i64.const 1024))"#,
            r#"(global $hp (import "env" "hp") (mut i32)) (export "heap_ptr" (global $hp))"#,
        ] {
            assert!(rewrite(&module(global, ""), "grow").is_none(), "{global}");
        }
    }

    #[test]
    fn nothing_wanted_is_nothing_to_do() {
        assert!(rewrite(&module(POINTER, ""), "absent").is_none());
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(thread_pointer(b"\0asm\x01\0\0\0\x01\xff", "heap_ptr", |_, _| true, |_| None).is_err());
    }
}
