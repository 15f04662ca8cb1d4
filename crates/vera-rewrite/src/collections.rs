//! vera-rt's collections for modules that bring their own.
//!
//! Vera 0.2.4 and later compile `Map` and `Set` into the module: a hash
//! trie (`hamt$*`, `hamt_*` functions) behind functions named after the
//! operations, `map_insert$ks_vi`, `map_get$ki_vs`, `set_add$es`,
//! `map_keys$ks`, ..., each with the signature Vera 0.2.3 gives the import
//! of the same name. [`host_collections`] replaces the body of each such
//! function with a call of that import, which vera-rt provides over its
//! buckets (LAYOUT.md), so the module's maps become vera-rt's: same
//! guest-memory data, reached by the module's own collector, and the trie
//! code is left unreachable.
//!
//! The functions are found by the names in the module's name section and
//! checked against the signatures the caller accepts; the rewrite is all
//! or nothing. It is refused (the module runs as given) when anything but
//! the trie itself could still reach a trie node: a collection function
//! the caller does not accept, called from outside the trie; a trie
//! function called from elsewhere, or escaping (a table, `ref.func`, the
//! start function, an export other than the map helpers the host itself
//! calls, `map_from_arrays$*`, `map_keys$*` and `map_values$*`). Those
//! helpers' exports are dropped with the trie, so a host that looks for
//! them (to build a JSON object in the module's own maps) finds none and
//! builds vera-rt's buckets as for a 0.2.3 module.
//!
//! The new imports come after the module's own, so every defined
//! function's index moves up by their number; calls, exports, elements and
//! the name section are renumbered to match.

use std::collections::{HashMap, HashSet};

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{CodeSection, EntityType, ImportSection, Instruction};
use wasmparser::{ExternalKind, FuncType, Operator, Parser, Payload, TypeRef};

use crate::Error;

/// A rewritten module and the imports its collection functions now call.
#[derive(Debug)]
pub struct HostCollections {
    pub wasm: Vec<u8>,
    /// The names of the new `"vera"` imports, in import order.
    pub imports: Vec<String>,
}

/// Whether `name` is one of the module's collection operations (not the
/// host's helper `map_from_arrays$*`, which Vera 0.2.3 has no import for).
fn is_collection(name: &str) -> bool {
    (name.starts_with("map_") || name.starts_with("set_")) && !name.starts_with("map_from_arrays$")
}

/// Whether `name` is the trie's own code.
fn is_trie(name: &str) -> bool {
    name.starts_with("hamt")
}

/// Exports the host calls to build and read the module's own maps.
fn is_host_map_helper(name: &str) -> bool {
    let name = name.strip_prefix("vera.").unwrap_or(name);
    ["map_from_arrays$", "map_keys$", "map_values$"]
        .iter()
        .any(|p| name.starts_with(p))
}

#[derive(Default)]
struct Scan {
    types: Vec<Option<FuncType>>,
    func_imports: u32,
    has_imports: bool,
    /// Names of the functions imported from `"vera"`.
    vera_imports: HashSet<String>,
    /// Type index of each defined function.
    defined: Vec<u32>,
    names: HashMap<u32, String>,
    callers: HashMap<u32, HashSet<u32>>,
    escaping: HashSet<u32>,
    /// Function exports: (export name, function index).
    exports: Vec<(String, u32)>,
}

/// Replaces the module's own `Map`/`Set` functions by calls of the imports
/// `accepts(name, type)` says the host provides. `Ok(None)`: the module has
/// no such functions, no name section, or something else reaches its trie.
pub fn host_collections(
    wasm: &[u8],
    accepts: impl Fn(&str, &FuncType) -> bool,
) -> Result<Option<HostCollections>, Error> {
    let scan = scan(wasm)?;
    if !scan.has_imports {
        return Ok(None);
    }
    let func_type = |f: u32| -> Option<&FuncType> {
        let ty = *scan.defined.get(f.checked_sub(scan.func_imports)? as usize)?;
        scan.types.get(ty as usize)?.as_ref()
    };
    let mut replaced: Vec<(u32, String)> = Vec::new();
    // The trie and every collection function left as it is.
    let mut trie: HashSet<u32> = HashSet::new();
    for (&f, name) in &scan.names {
        // Already calling the host (a module rewritten before).
        if f < scan.func_imports || scan.vera_imports.contains(name) {
            continue;
        }
        if is_collection(name) && func_type(f).is_some_and(|ty| accepts(name, ty)) {
            replaced.push((f, name.clone()));
        } else if is_collection(name) || is_trie(name) || is_host_map_helper(name) {
            trie.insert(f);
        }
    }
    if replaced.is_empty() {
        return Ok(None);
    }
    replaced.sort();
    let replaced_set: HashSet<u32> = replaced.iter().map(|(f, _)| *f).collect();
    // Nothing outside the trie may reach it: the replaced functions' old
    // bodies are gone, so their calls into it do not count.
    for &t in &trie {
        if scan.escaping.contains(&t) {
            return Ok(None);
        }
        let outside = scan
            .callers
            .get(&t)
            .into_iter()
            .flatten()
            .any(|caller| !trie.contains(caller) && !replaced_set.contains(caller));
        if outside {
            return Ok(None);
        }
    }
    for (name, f) in &scan.exports {
        if trie.contains(f) && !is_host_map_helper(name) {
            return Ok(None);
        }
    }
    let imports: Vec<NewImport> = replaced
        .into_iter()
        .map(|(func, name)| {
            let params = func_type(func).map_or(&[][..], |t| t.params());
            let key_is_float = name.contains("$kf") || name.contains("$ef");
            NewImport {
                func,
                ty: scan.defined[(func - scan.func_imports) as usize],
                params: params.len() as u32,
                float_key: key_is_float && params.get(1) == Some(&wasmparser::ValType::F64),
                name,
            }
        })
        .collect();
    let mut rewriter = Rewriter {
        func_imports: scan.func_imports,
        by_function: imports.iter().enumerate().map(|(j, i)| (i.func, j)).collect(),
        imports,
        dropped_exports: trie,
        bodies_seen: 0,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter.parse_core_module(&mut module, Parser::new(0), wasm)?;
    Ok(Some(HostCollections {
        wasm: module.finish(),
        imports: rewriter.imports.into_iter().map(|i| i.name).collect(),
    }))
}

fn scan(wasm: &[u8]) -> Result<Scan, Error> {
    let mut s = Scan::default();
    let mut body_index = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        crate::refs::note_indirect(&payload, &mut s.escaping)?;
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for ty in group?.into_types() {
                        s.types.push(match ty.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                s.has_imports = true;
                for import in reader.into_imports() {
                    let import = import?;
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        s.func_imports += 1;
                        if import.module == "vera" {
                            s.vera_imports.insert(import.name.to_owned());
                        }
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    s.defined.push(ty?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact) {
                        s.exports.push((export.name.to_owned(), export.index));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let func = s.func_imports + body_index;
                body_index += 1;
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    match ops.read()? {
                        Operator::Call { function_index } => {
                            s.callers.entry(function_index).or_default().insert(func);
                        }
                        op => s.escaping.extend(crate::refs::escaping_op(&op)),
                    }
                }
            }
            Payload::CustomSection(reader) => {
                if let wasmparser::KnownCustom::Name(names) = reader.as_known() {
                    for subsection in names {
                        if let wasmparser::Name::Function(map) = subsection? {
                            for naming in map {
                                let naming = naming?;
                                s.names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// A collection function whose body becomes a call of a new import.
struct NewImport {
    /// The function's index before the rewrite.
    func: u32,
    name: String,
    /// Its type index, the import's too.
    ty: u32,
    params: u32,
    /// Parameter 1 is a Float64 key.
    float_key: bool,
}

struct Rewriter {
    func_imports: u32,
    /// The new imports, in order: the `j`th has index `func_imports + j`.
    imports: Vec<NewImport>,
    /// Old index of each replaced function -> its position in `imports`.
    by_function: HashMap<u32, usize>,
    /// Functions (old indices) whose exports go.
    dropped_exports: HashSet<u32>,
    bodies_seen: u32,
}

impl Reencode for Rewriter {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(if func < self.func_imports {
            func
        } else {
            func + self.imports.len() as u32
        })
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        for new in &self.imports {
            imports.import("vera", &new.name, EntityType::Function(new.ty));
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for export in section {
            let export = export?;
            let func = matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact);
            if func && self.dropped_exports.contains(&export.index) {
                continue;
            }
            self.parse_export(exports, export)?;
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let old = self.func_imports + self.bodies_seen;
        self.bodies_seen += 1;
        let Some(&j) = self.by_function.get(&old) else {
            return reencode::utils::parse_function_body(self, code, body);
        };
        let new = &self.imports[j];
        // The import has the function's own type: pass the parameters on.
        let mut function = wasm_encoder::Function::new([]);
        for local in 0..new.params {
            if local == 1 && new.float_key {
                // As the trie (its `hamt$canon`), a Float64 key is stored and
                // looked up canonical: every NaN as one, -0.0 as 0.0.
                for instruction in [
                    Instruction::LocalGet(local),
                    Instruction::LocalGet(local),
                    Instruction::F64Ne,
                    Instruction::If(wasm_encoder::BlockType::Result(wasm_encoder::ValType::F64)),
                    Instruction::F64Const(f64::NAN.into()),
                    Instruction::Else,
                    Instruction::LocalGet(local),
                    Instruction::F64Const(0.0.into()),
                    Instruction::F64Add,
                    Instruction::End,
                ] {
                    function.instruction(&instruction);
                }
            } else {
                function.instruction(&Instruction::LocalGet(local));
            }
        }
        function.instruction(&Instruction::Call(self.func_imports + j as u32));
        function.instruction(&Instruction::End);
        code.function(&function);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fixture, validate};

    fn any(_: &str, _: &FuncType) -> bool {
        true
    }

    /// The imports and function exports of `wasm`, by name.
    fn imports_and_exports(wasm: &[u8]) -> (Vec<String>, Vec<String>) {
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::ImportSection(r) => {
                    for i in r.into_imports() {
                        imports.push(i.unwrap().name.to_owned());
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        exports.push(e.unwrap().name.to_owned());
                    }
                }
                _ => {}
            }
        }
        (imports, exports)
    }

    #[test]
    fn a_0_2_5_build_calls_imports_in_place_of_its_trie() {
        let wasm = fixture("json_objects.v025.wasm");
        let hosted = host_collections(&wasm, any).unwrap().expect("its collections");
        validate(&hosted.wasm);
        let (imports, exports) = imports_and_exports(&hosted.wasm);
        assert!(hosted
            .imports
            .iter()
            .any(|i| i == "map_get$ks_vi" || i.starts_with("map_")));
        for name in &hosted.imports {
            assert!(imports.contains(name), "{name} is not imported");
        }
        // The helpers the host called to build the module's own maps go.
        assert!(!exports.iter().any(|e| e.contains("map_from_arrays")), "{exports:?}");
        // Nothing is left to replace.
        assert!(host_collections(&hosted.wasm, any).unwrap().is_none());
    }

    #[test]
    fn a_0_2_3_build_has_none() {
        assert!(host_collections(&fixture("map_string_keys.wasm"), any)
            .unwrap()
            .is_none());
    }

    #[test]
    fn what_the_host_does_not_provide_keeps_the_trie() {
        let wasm = fixture("map_string_keys.v025.wasm");
        // A collection function the host lacks, still called from the
        // program: its trie must stay, so nothing is replaced.
        let refuse_get = |name: &str, _: &FuncType| !name.starts_with("map_get");
        assert!(host_collections(&wasm, refuse_get).unwrap().is_none());
        assert!(host_collections(&wasm, any).unwrap().is_some());
    }

    /// A trie function reached from outside the trie (here, exported under
    /// a name no host helper has): the module is left alone.
    #[test]
    fn a_trie_reached_from_elsewhere_is_left_alone() {
        let wasm = wat::parse_str(
            r#"(module
              (import "vera" "trap" (func $trap (param i32 i32 i32)))
              (func $hamt$new (result i32) i32.const 8)
              (func $map_new (result i32) call $hamt$new)
              (func $main (export "main") (result i32) call $map_new)
              (func $peek (export "peek") (result i32) call $hamt$new))"#,
        )
        .unwrap();
        assert!(host_collections(&wasm, any).unwrap().is_none());
        let fine = wat::parse_str(
            r#"(module
              (import "vera" "trap" (func $trap (param i32 i32 i32)))
              (func $hamt$new (result i32) i32.const 8)
              (func $map_new (result i32) call $hamt$new)
              (func $main (export "main") (result i32) call $map_new))"#,
        )
        .unwrap();
        let hosted = host_collections(&fine, any).unwrap().expect("map_new replaced");
        validate(&hosted.wasm);
        assert_eq!(hosted.imports, ["map_new"]);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(host_collections(b"\0asm\x01\0\0\0\x01\xff", any).is_err());
    }
}
