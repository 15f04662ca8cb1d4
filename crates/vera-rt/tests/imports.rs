//! Every host import the reference host of Vera 0.2.3, and of Vera 0.2.5
//! (the current release), registers links in vera-rt with the same
//! signature.
//!
//! The tables, `fixtures/vera-0.2.3-imports.txt` and
//! `fixtures/vera-0.2.5-imports.txt`, are generated from each package
//! itself by `scripts/vera_imports.py` (it runs the reference host's
//! registration with every family enabled and records what it defines).
//! Each entry becomes a module importing just that function with that
//! signature; it must load (a family provides the name) and
//! instantiate (the family's definition has that type).

use std::path::Path;

use vera_host::{Failure, Program, RunOptions};

fn table(version: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/vera-{version}-imports.txt"));
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
    if let Some(feature) = vera_host::families::compiled_out(name) {
        // A family this build left out: refused at load, naming the feature.
        let wat = format!(r#"(module (import "vera" "{name}" (func {sig})) (func (export "main")))"#);
        return match Program::load(wat.as_bytes()) {
            Err(e)
                if e.to_string().contains(&format!(
                    "vera.{name} (vera-host built without its `{feature}` feature)"
                )) =>
            {
                Ok(())
            }
            Err(e) => Err(format!("refused, but not for the `{feature}` feature: {e}")),
            Ok(_) => Err(format!("loaded without the `{feature}` feature")),
        };
    }
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

/// Links every entry of the table of `version`, which must hold at least
/// `at_least` imports, `expected` among them.
fn check_table(version: &str, at_least: usize, expected: &[&str]) {
    let table = table(version);
    assert!(table.len() >= at_least, "import table too short: {}", table.len());
    for family in expected {
        assert!(
            table.iter().any(|(n, _)| n == *family),
            "{family} missing from the table"
        );
    }
    let failures: Vec<String> = table
        .iter()
        .filter_map(|(name, sig)| links(name, sig).err().map(|e| format!("{name} {sig}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} imports of Vera {version} do not link:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

#[test]
fn every_reference_import_links_with_its_signature() {
    check_table(
        "0.2.3",
        100,
        &["http_get", "async_await", "inference_complete", "db_query", "print"],
    );
}

/// Vera 0.2.5 moved Map/Set into the module (no `map_*`/`set_*` imports)
/// and added `hash_key`, `read_bytes` and `write_bytes`.
#[test]
fn every_vera_0_2_5_import_links_with_its_signature() {
    check_table(
        "0.2.5",
        90,
        &[
            "read_bytes",
            "write_bytes",
            "hash_key",
            "http_get",
            "async_await",
            "inference_complete",
            "db_query",
            "json_parse",
            "html_parse",
            "print",
        ],
    );
    assert!(
        !table("0.2.5")
            .iter()
            .any(|(n, _)| n.starts_with("map_") || n.starts_with("set_")),
        "0.2.5 has no Map/Set imports"
    );
}

/// Every import behind a cargo feature of vera-host is one the reference
/// host registers, so the feature list names what a module can import.
#[test]
fn every_optional_import_is_a_reference_import() {
    let v023 = table("0.2.3");
    for (feature, names) in vera_host::families::OPTIONAL {
        for name in *names {
            assert!(
                v023.iter().any(|(n, _)| n == name),
                "{name} ({feature}) is no import of Vera 0.2.3"
            );
        }
    }
    // And every import of those families is behind its feature.
    let families = ["db_", "http_", "async_", "inference_", "regex_", "md_", "html_"];
    for version in ["0.2.3", "0.2.5"] {
        for (name, _) in table(version) {
            if families.iter().any(|f| name.starts_with(f)) {
                assert!(
                    vera_host::families::OPTIONAL
                        .iter()
                        .any(|(_, names)| names.contains(&name.as_str())),
                    "{name} ({version}) is behind no feature"
                );
            }
        }
    }
}

/// Each import a family declares once (`families::glue::imports!`) is in
/// a reference host's list, with the same signature in each list it is in.
#[test]
fn declared_imports_match_the_reference_lists() {
    let tables = [table("0.2.3"), table("0.2.5")];
    let mut checked = 0;
    for (family, declared) in vera_host::families::DECLARED {
        for import in *declared {
            let signature = import.signature();
            let listed: Vec<&String> = tables
                .iter()
                .flatten()
                .filter(|(n, _)| n == import.name)
                .map(|(_, sig)| sig)
                .collect();
            assert!(
                !listed.is_empty(),
                "{family}: {} is in neither import list",
                import.name
            );
            for sig in listed {
                assert_eq!(sig, &signature, "{family}: {} declared as {signature}", import.name);
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} declared imports");
}

#[test]
fn a_wrong_signature_is_refused() {
    assert!(links("print", "(param i64)").is_err());
    assert!(links("read_file", "(param i32) (result i32)").is_err());
}
