//! Bad input never crashes vera-rt: each case gives one clear `Error:` line
//! on stderr and exit status 1, and nothing panics.

use std::process::Command;

fn run(bytes: &[u8], ext: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .arg("run")
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

fn first_line(stderr: &str) -> &str {
    stderr.lines().next().unwrap_or("")
}

fn hello() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hello.wasm")).unwrap()
}

#[test]
fn non_wasm_file() {
    let (code, err) = run(b"this is not wasm\x00\x01", "wasm", &[]);
    assert_eq!(code, 1);
    assert!(
        first_line(&err).starts_with("Error: ") && err.contains("\\0asm magic number"),
        "{err}"
    );
}

#[test]
fn truncated_module() {
    let bytes = hello();
    for cut in [4, 9, bytes.len() / 3, bytes.len() - 1] {
        let (code, err) = run(&bytes[..cut], "wasm", &[]);
        assert_eq!(code, 1, "cut at {cut}");
        assert!(err.contains("not a valid WebAssembly module"), "cut at {cut}: {err}");
    }
}

#[test]
fn module_without_main_or_exports() {
    let (code, err) = run(b"(module (memory (export \"memory\") 1))", "wat", &[]);
    assert_eq!(code, 1);
    assert_eq!(first_line(&err), "Error: No exported functions to call");
    let (code, err) = run(&hello(), "wasm", &["--fn", "nope"]);
    assert_eq!(code, 1);
    assert_eq!(
        first_line(&err),
        "Error: Function 'nope' not found in exports. Available: main"
    );
}

#[test]
fn unknown_imports_are_all_named() {
    let wat = br#"(module
        (import "vera" "frobnicate" (func (param i32)))
        (import "env" "clock" (func))
        (import "vera" "print" (func (param i32 i32)))
        (func (export "main")))"#;
    let (code, err) = run(wat, "wat", &[]);
    assert_eq!(code, 1);
    assert!(
        first_line(&err)
            .ends_with("the module imports 2 function(s) vera-rt does not provide: vera.frobnicate, env.clock"),
        "{err}"
    );
}

#[test]
fn wrong_import_signature_is_reported() {
    let wat = br#"(module (import "vera" "map_insert$ki_vi" (func (param i32) (result i32))) (func (export "main")))"#;
    let (code, err) = run(wat, "wat", &[]);
    assert_eq!(code, 1);
    assert!(
        first_line(&err).contains("vera.map_insert$ki_vi is declared as"),
        "{err}"
    );
}

#[test]
fn forged_pointers_trap_cleanly() {
    // print with a length past the end of memory, and a Map op on a
    // pointer that is not a wrapper.
    let wat = br#"(module
        (import "vera" "print" (func $print (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "main") (call $print (i32.const 65530) (i32.const 100))))"#;
    let (code, err) = run(wat, "wat", &[]);
    assert_eq!(code, 1);
    assert!(
        first_line(&err).starts_with("Error: Out-of-bounds memory access (vera.print:"),
        "{err}"
    );
    let wat = br#"(module
        (import "vera" "map_size" (func $size (param i32) (result i64)))
        (memory (export "memory") 1)
        (func (export "main") (result i64) (call $size (i32.const 64))))"#;
    let (code, err) = run(wat, "wat", &[]);
    assert_eq!(code, 1);
    assert!(first_line(&err).contains("is not a Map"), "{err}");
}

#[test]
fn missing_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .args(["run", "/nonexistent/x.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // `vera run`'s words for a missing file.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: file not found: /nonexistent/x.wasm\n"
    );
}
