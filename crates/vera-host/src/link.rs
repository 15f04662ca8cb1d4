//! Linking: every import a module declares, offered to the families
//! ([`crate::families::define`]); an import no family provides, or one
//! whose family this build left out, is refused with every such import
//! named ([`LoadError::MissingImports`]).

use wasmtime::{Engine, ExternType, Linker, Module};

use crate::families;
use crate::load::LoadError;
use crate::state::HostState;

/// A linker defining every import of `module`; `threaded_imports` are the
/// imports whose call sites were rewritten to pass `heap_ptr`.
pub fn link(engine: &Engine, module: &Module, threaded_imports: &[String]) -> Result<Linker<HostState>, LoadError> {
    let mut linker = Linker::new(engine);
    let mut missing = Vec::new();
    for import in module.imports() {
        let name = format!("{}.{}", import.module(), import.name());
        let ExternType::Func(ty) = import.ty() else {
            missing.push(format!("{name} (not a function)"));
            continue;
        };
        if import.module() != "vera" {
            missing.push(name);
            continue;
        }
        let threaded = threaded_imports.iter().any(|n| n == import.name());
        match families::define(&mut linker, import.name(), &ty, threaded) {
            Ok(true) => {}
            Ok(false) => match families::compiled_out(import.name()) {
                Some(feature) => missing.push(format!("{name} (vera-host built without its `{feature}` feature)")),
                None => missing.push(name),
            },
            Err(e) => return Err(LoadError::Link(format!("{e:#}"))),
        }
    }
    if !missing.is_empty() {
        return Err(LoadError::MissingImports(missing));
    }
    Ok(linker)
}
