//! Every host import Vera 0.2.3's reference host registers links in
//! vera-rt with the same signature.
//!
//! The table, `fixtures/vera-0.2.3-imports.txt`, is generated from the
//! package itself by `scripts/vera_imports.py` (it runs the reference
//! host's registration with every family enabled and records what it
//! defines). Each entry becomes a module importing just that function with
//! that signature; it must load (a family provides the name) and
//! instantiate (the family's definition has that type).

use std::path::Path;

use vera_host::{Failure, Program, RunOptions};

fn table() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vera-0.2.3-imports.txt");
    std::fs::read_to_string(path)
        .expect("the import table")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(' ') {
            Some((name, sig)) => (name.to_owned(), sig.to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

fn links(name: &str, sig: &str) -> Result<(), String> {
    let wat = format!(
        r#"(module
             (import "vera" "{name}" (func {sig}))
             (memory (export "memory") 1)
             (func (export "main")))"#
    );
    let program = Program::load(wat.as_bytes()).map_err(|e| e.to_string())?;
    let (options, _) = RunOptions::captured();
    match program.run(options).outcome {
        Ok(_) => Ok(()),
        Err(Failure::Trap { message, .. }) => Err(message),
        Err(other) => Err(format!("{other:?}")),
    }
}

#[test]
fn every_reference_import_links_with_its_signature() {
    let table = table();
    assert!(table.len() > 100, "import table too short: {}", table.len());
    for family in ["http_get", "async_await", "inference_complete", "db_query", "print"] {
        assert!(
            table.iter().any(|(n, _)| n == family),
            "{family} missing from the table"
        );
    }
    let failures: Vec<String> = table
        .iter()
        .filter_map(|(name, sig)| links(name, sig).err().map(|e| format!("{name} {sig}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} imports do not link:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wrong_signature_is_refused() {
    assert!(links("print", "(param i64)").is_err());
    assert!(links("http_get", "(param i32) (result i32)").is_err());
}
