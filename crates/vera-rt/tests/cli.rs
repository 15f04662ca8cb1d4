//! `vera-rt run` on a module with no source beside it: parameter types
//! come from the wasm signature (and the errors say so), a String
//! parameter takes any text the argument count leaves it, and a trap's
//! backtrace names the functions alone (0.2.5's `:NAME` demangled). With
//! the source, `tests/fixtures.rs`'s `cli_` fixtures hold every output to
//! `vera run`'s.

use std::path::Path;
use std::process::{Command, Stdio};

struct Out {
    stdout: String,
    stderr: String,
    code: i32,
}

/// Runs a fixture's build copied alone (as `prog.wasm`) into a fresh
/// directory.
fn run_alone(build: &str, args: &[&str]) -> Out {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures.join(build), dir.path().join("prog.wasm")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .arg("run")
        .arg("prog.wasm")
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

const DIVISION_FIX: &str = "Fix:\n  Add a precondition `requires(divisor != 0)` on the function performing the\n";

#[test]
fn backtrace_names_functions_without_the_source() {
    for build in ["cli_trap_backtrace.wasm", "cli_trap_backtrace.v025.wasm"] {
        let out = run_alone(build, &["--", "0"]);
        assert_eq!(out.code, 1, "{build}");
        assert_eq!(out.stdout, "dividing\n");
        assert!(
            out.stderr.starts_with(&format!(
                "Error: Integer division by zero\nBacktrace:\n  in divide\n  in scaled\n  in main\n{DIVISION_FIX}"
            )),
            "{build}: {}",
            out.stderr
        );
    }
    let out = run_alone("cli_heap.v025.wasm", &[]);
    assert!(
        out.stderr.starts_with("Error: Heap exhausted\nBacktrace:\n  (suppressed 1 runtime-helper frame above first user code)\n  in main\nFix:\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn json_without_the_source_names_the_module() {
    let out = run_alone("cli_trap_backtrace.wasm", &["--json", "--", "0"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("{\n  \"ok\": false,\n  \"file\": \"prog.wasm\",\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "        {\n          \"func\": \"divide\",\n          \"file\": \"<unknown>\",\n          \"line_start\": null,\n          \"line_end\": null,\n          \"is_builtin\": false\n        },"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("  \"stdout\": \"dividing\\n\"\n}\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn wasm_signature_decides_and_says_so() {
    for build in ["cli_args_count.wasm", "cli_args_count.v025.wasm"] {
        let out = run_alone(build, &["--fn", "ratio", "--", "5"]);
        assert_eq!(out.code, 1);
        assert_eq!(
            out.stderr,
            "Error: Function 'ratio' expects 2 arguments but 1 was provided. (Read from the module's WebAssembly \
             signature, where a String or Array parameter is two i32s: no source was found beside the module.)\n"
        );
    }
    // Without the source nothing says the first is a @Nat: the i64 range.
    let out = run_alone(
        "cli_args_count.wasm",
        &["--fn", "mixed", "--", "-1", "1", "1.0", "true"],
    );
    assert_eq!((out.stdout.as_str(), out.code), ("1\n", 0), "{}", out.stderr);
    let out = run_alone(
        "cli_args_count.wasm",
        &["--fn", "ratio", "--", "99999999999999999999", "1"],
    );
    assert_eq!(
        out.stderr,
        "Error: Argument '99999999999999999999' is out of range for parameter type @Int: an @Int holds \
         -9223372036854775808 .. 9223372036854775807.\n"
    );
}

#[test]
fn string_parameters_take_text_that_looks_like_numbers() {
    for build in ["cli_string_number.wasm", "cli_string_number.v025.wasm"] {
        let out = run_alone(build, &["--", "42", "true"]);
        assert_eq!(
            (out.stdout.as_str(), out.code),
            ("[42|true]\n", 0),
            "{build}: {}",
            out.stderr
        );
    }
    // Two Strings are four i32s: two to four arguments could fit.
    let out = run_alone("cli_string_number.wasm", &["--", "1"]);
    assert!(
        out.stderr
            .starts_with("Error: Function 'main' expects 2 to 4 arguments but 1 was provided."),
        "{}",
        out.stderr
    );
}
