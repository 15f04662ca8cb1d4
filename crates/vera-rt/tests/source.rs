//! vera-rt reads a program's source (`vera_host::source`) as Vera's
//! compiler does: for every fixture, each function the compiler records
//! (`fixtures/vera-0.2.3-sources.json`, written by
//! `scripts/vera_sources.py` from the compile result `vera run` uses) has
//! the same span, the same lowered parameter types with the same `@Nat`
//! and `@Byte` flags, and the same String-or-not return.

use std::path::Path;

use serde_json::Value;
use vera_host::source::{Param, SourceInfo};

#[test]
fn every_fixture_reads_as_the_compiler_reads_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("vera-0.2.3-sources.json")).unwrap()).unwrap();
    let recorded = recorded.as_object().unwrap();
    assert!(recorded.len() > 100);
    let mut problems = Vec::new();
    for (name, program) in recorded {
        let path = dir.join(format!("{name}.vera"));
        let info = SourceInfo::parse("x.vera", &std::fs::read_to_string(&path).unwrap());
        for (func, want) in program["functions"].as_object().unwrap() {
            let Some(got) = info.locate(func) else {
                problems.push(format!("{name}: {func} not found"));
                continue;
            };
            let lines = [got.line_start as u64, got.line_end as u64];
            let want_lines: Vec<u64> = want["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            if lines[..] != want_lines[..] {
                problems.push(format!(
                    "{name}: {func} spans {lines:?}, the compiler says {want_lines:?}"
                ));
            }
            if want["returns_string"].as_bool().unwrap() != got.returns_string {
                problems.push(format!("{name}: {func} returns_string differs"));
            }
            let Some(params) = want["params"].as_array() else {
                continue;
            };
            let lowered: Vec<(String, bool, bool)> = got
                .params
                .iter()
                .map(|p| (p.wasm_name().to_owned(), *p == Param::Nat, *p == Param::Byte))
                .collect();
            let want_params: Vec<(String, bool, bool)> = params
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        p.as_str().unwrap().to_owned(),
                        want["nat"][i].as_bool().unwrap(),
                        want["byte"][i].as_bool().unwrap(),
                    )
                })
                .collect();
            if lowered != want_params {
                problems.push(format!(
                    "{name}: {func} parameters {lowered:?}, the compiler says {want_params:?}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} difference(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
