//! `vera-rt bundle` writes a page, the browser runtime and the module
//! (what the page does in a browser is `browser/e2e/pages.mjs`'s test).

use std::path::Path;
use std::process::Command;

#[test]
fn bundle_writes_page_runtime_and_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("page");
    let status = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .args(["bundle"])
        .arg(root.join("fixtures/io_args.wasm"))
        .arg("-o")
        .arg(&dir)
        .args(["--fn", "main", "--", "1", "</script>"])
        .status()
        .unwrap();
    assert!(status.success());
    let runtime = std::fs::read_to_string(dir.join("runtime.mjs")).unwrap();
    assert_eq!(
        runtime,
        std::fs::read_to_string(root.join("browser/runtime.mjs")).unwrap()
    );
    // The module as `vera-rt run` loads it: its collector rewritten.
    let module = std::fs::read(root.join("fixtures/io_args.wasm")).unwrap();
    let written = std::fs::read(dir.join("io_args.wasm")).unwrap();
    assert_ne!(written, module, "the collector was not rewritten");
    assert_eq!(written, vera_host::prepared(module));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains(r#""module":"io_args.wasm""#), "{html}");
    assert!(
        html.contains(r"\u003c/script>"),
        "an argument must not close the config element"
    );
    assert!(!html.contains("{{"), "placeholders left in the page");
}

#[test]
fn bundle_refuses_what_is_not_a_module() {
    let out = tempfile::tempdir().unwrap();
    let text = out.path().join("x.wasm");
    std::fs::write(&text, "not wasm").unwrap();
    let result = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .arg("bundle")
        .arg(&text)
        .arg("-o")
        .arg(out.path().join("page"))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).starts_with("Error: "));
}
