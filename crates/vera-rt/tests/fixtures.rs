//! The differential oracle: every program in `fixtures/` runs under
//! vera-rt and must print what `vera run` 0.2.3 printed (recorded in
//! `NAME.expected.json` by `scripts/regen-fixtures`): the same stdout, the
//! same first line of stderr, the same exit status. Each runs as `vera run`
//! did: in a fresh temporary directory, with `NAME.stdin` on stdin and
//! `VERA_RT_FIXTURE_ENV=fixture-env-value` in the environment.
//!
//! Collection-heavy fixtures also have `NAME.eager-gc.wasm`, the same
//! program compiled with `VERA_EAGER_GC=1` (the guest collects on every
//! allocation), run with `--guest-alloc` so every host allocation goes
//! through that `alloc`: it must print exactly the same, so a pointer the
//! host holds across `alloc` without rooting it shows up as a difference;
//! those run a second time with `--as-is` (the module's Map/Set call sites
//! not rewritten to pass `heap_ptr`), so both ways of calling the imports
//! are checked end to end.
//!
//! The `wide_` fixtures keep more heap pointers in one live block than
//! Vera 0.2.3's collector's 16 384-entry mark worklist: `vera run` 0.2.3
//! traps on them, so their expected output is `vera run` 0.2.5's (see
//! their correction files); vera-rt, with the collector's mark phase made
//! overflow-safe at load, must print it, and with `--as-is` (the mark
//! phase as compiled) must stop with the overflow's cause.
//!
//! The JSON and HTML fixtures also have `NAME.v025.wasm`, the program as
//! Vera 0.2.5 compiles it: its maps are its own hash tries, which vera-rt
//! replaces with its buckets at load (`vera_rewrite::collections`); with
//! `--as-is` the trie stays, and vera-rt builds and reads JSON objects and
//! HTML attributes through the module's `map_from_arrays$ks_v*`,
//! `map_keys$ks` and `map_values$v*` exports. Both ways it must print the
//! same. Every other fixture 0.2.5 compiles has such a
//! build too, expected to print the same, except where the program itself
//! behaves differently under 0.2.5 (its `NAME.correction.json` has a
//! `"v025"` entry saying why; `NAME.expected.json`'s `"v025"` then holds
//! what `vera run` 0.2.5 printed).
//!
//! Fixtures listed in `fixtures/V025_ONLY` use what only Vera 0.2.4 and
//! later have (`IO.read_bytes`, `IO.write_bytes`): they have only the 0.2.5
//! build, and their `NAME.expected.json` (marked `"vera": "0.2.5"`) is what
//! `vera run` of 0.2.5 printed.
//!
//! Network fixtures talk to `scripts/fixture_server.py` (the same server
//! the regeneration script starts): its addresses reach the program as
//! `VERA_RT_FIXTURE_HTTP` and `VERA_RT_FIXTURE_CLOSED`, and the Inference
//! variables are removed, as `vera run` had them.
//!
//! CLI fixtures (`"cli": true` in `NAME.run.json`) check what `vera run`
//! itself prints: argument errors, source backtraces with `file:line`
//! ranges, `Fix:` paragraphs, `--json` envelopes. Each runs as
//! `vera-rt run NAME.wasm [FLAGS] [--fn F] [-- ARGS]` in a fresh directory
//! holding copies of `NAME.vera` and the build (the 0.2.5 build copied as
//! `NAME.wasm` too), as `vera run NAME.vera ...` ran there; stdout, the
//! whole stderr and the exit status must be what each version printed
//! (`vera run <file>` in a hint reads `vera-rt run <file>`).
//!
//! Fixtures listed in `fixtures/PENDING` use a host family vera-rt does not
//! provide yet: they must fail to load naming a missing import, so the list
//! cannot go stale once the family lands.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn pending() -> Vec<String> {
    std::fs::read_to_string(fixtures_dir().join("PENDING"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Variables of the Inference family, unset for every fixture.
const INFERENCE_VARS: &[&str] = vera_host::families::inference::ENV_VARS;

/// Starts the fixture HTTP server once; returns (`VERA_RT_FIXTURE_HTTP`,
/// `VERA_RT_FIXTURE_CLOSED`). It serves until this process exits (its
/// stdin, a pipe held here, then closes).
fn server() -> &'static (String, String) {
    static SERVER: OnceLock<(String, String)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let script = fixtures_dir().join("../scripts/fixture_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs scripts/fixture_server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the fixture server prints its ports");
        let ports: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(ports.len(), 2, "fixture server said {line:?}");
        let addresses = (
            format!("http://127.0.0.1:{}", ports[0]),
            format!("http://127.0.0.1:{}", ports[1]),
        );
        std::mem::forget(child);
        addresses
    })
}

struct Observed {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run_fixture(stem: &Path, wasm: &Path, extra: &[&str]) -> Observed {
    let run_spec: Value = std::fs::read_to_string(stem.with_extension("run.json"))
        .map(|t| serde_json::from_str(&t).expect("valid run.json"))
        .unwrap_or(Value::Null);
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vera-rt"));
    cmd.arg("run").arg(wasm).args(extra);
    if let Some(f) = run_spec.get("fn").and_then(Value::as_str) {
        cmd.args(["--fn", f]);
    }
    if let Some(args) = run_spec.get("args").and_then(Value::as_array) {
        cmd.arg("--");
        cmd.args(args.iter().map(|a| a.as_str().expect("string args")));
    }
    let stdin = stem.with_extension("stdin");
    cmd.stdin(if stdin.exists() {
        Stdio::from(std::fs::File::open(stdin).unwrap())
    } else {
        Stdio::null()
    });
    for var in INFERENCE_VARS {
        cmd.env_remove(var);
    }
    let (http, closed) = server();
    let out = cmd
        .current_dir(cwd.path())
        .env("VERA_RT_FIXTURE_ENV", "fixture-env-value")
        .env("VERA_RT_FIXTURE_HTTP", http)
        .env("VERA_RT_FIXTURE_CLOSED", closed)
        .output()
        .expect("vera-rt runs");
    Observed {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn stems() -> Vec<PathBuf> {
    let mut stems: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "vera").then(|| p.with_extension(""))
        })
        .collect();
    stems.sort();
    stems
}

#[test]
fn every_fixture_matches_vera_run() {
    let pending = pending();
    let stems = stems();
    assert!(stems.len() >= 20, "fixtures missing: found {}", stems.len());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    let chunks: Vec<Vec<PathBuf>> = (0..workers)
        .map(|i| stems.iter().skip(i).step_by(workers).cloned().collect())
        .collect();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let pending = &pending;
                s.spawn(move || chunk.iter().filter_map(|stem| check(stem, pending)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Fixtures whose last lines read a block the program no longer holds (a
/// value kept only in a host `State` cell, which neither 0.2.3's nor
/// 0.2.5's collector roots): what those lines print depends on which dead
/// block the allocator hands out next, so under vera-rt's size-class
/// allocator they print other garbage. With the module's own allocator
/// (`--as-is`) the whole output must match, pinning that the host leaves
/// the guest heap as `vera run` does; by default, all but those lines.
const REUSE_DEPENDENT: &[(&str, usize)] = &[("state_adt_unrooted", 1)];

/// `text` without its last `lines` lines.
fn but_last(text: &str, lines: usize) -> String {
    let kept = text.lines().count().saturating_sub(lines);
    text.lines().take(kept).map(|l| format!("{l}\n")).collect()
}

/// `got`, and what it must print, with the lines `REUSE_DEPENDENT` names for
/// `name` cut.
fn comparable(name: &str, got: Observed, want_stdout: &str) -> (Observed, String) {
    match REUSE_DEPENDENT.iter().find(|(n, _)| *n == name) {
        Some(&(_, lines)) => (
            Observed {
                stdout: but_last(&got.stdout, lines),
                ..got
            },
            but_last(want_stdout, lines),
        ),
        _ => (got, want_stdout.to_owned()),
    }
}

fn check(stem: &Path, pending: &[String]) -> Option<String> {
    let name = stem.file_name().unwrap().to_string_lossy().into_owned();
    let expected_path = stem.with_extension("expected.json");
    let v025 = stem.with_extension("v025.wasm");
    if expected_path.exists() && v025_only(&expected_path) {
        return check_v025_only(&name, stem, &expected_path, &v025);
    }
    if !stem.with_extension("wasm").exists() || !expected_path.exists() {
        return Some(format!(
            "{name}: no .wasm or .expected.json; run scripts/regen-fixtures {name}"
        ));
    }
    let got = run_fixture(stem, &stem.with_extension("wasm"), &[]);
    if pending.contains(&name) {
        let first = got.stderr.lines().next().unwrap_or("");
        return (!(got.code == 1 && first.contains("does not provide"))).then(|| {
            format!("{name}: listed in fixtures/PENDING but did not fail for a missing import (exit {}, stderr {first:?}); remove it from PENDING", got.code)
        });
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    if expected["cli"] == Value::Bool(true) {
        return check_cli(&name, stem, &expected);
    }
    let want_stdout = expected["stdout"].as_str().unwrap();
    let want_err = expected["stderr_first_line"].as_str().unwrap();
    let want_code = expected["exit_code"].as_i64().unwrap() as i32;
    let (got, want) = comparable(&name, got, want_stdout);
    let mut problems = compare(&got, &want, want_err, want_code);
    let reuse_dependent = REUSE_DEPENDENT.iter().any(|(n, _)| *n == name);
    if reuse_dependent {
        let got = run_fixture(stem, &stem.with_extension("wasm"), &["--as-is"]);
        problems.extend(
            compare(&got, want_stdout, want_err, want_code)
                .into_iter()
                .map(|p| format!("[--as-is] {p}")),
        );
    }
    // The wide fixtures hold more heap pointers in one block than Vera
    // 0.2.3's collector's mark worklist: run as compiled (`--as-is`, the
    // collector's own mark phase), they must stop with its cause.
    let overflows_as_is = name.starts_with("wide_");
    let overflowed = |got: &Observed, label: &str| -> Option<String> {
        let first = got.stderr.lines().next().unwrap_or("");
        (got.code != 1 || !first.starts_with("Error: The collector's mark worklist overflowed: ")).then(|| {
            format!(
                "[{label}] expected the worklist overflow error, got exit {} and {first:?}",
                got.code
            )
        })
    };
    // (The eager-GC fixtures' plain builds may never collect.)
    if overflows_as_is && !name.starts_with("wide_eager_") {
        let got = run_fixture(stem, &stem.with_extension("wasm"), &["--as-is"]);
        problems.extend(overflowed(&got, "--as-is"));
    }
    let eager = stem.with_extension("eager-gc.wasm");
    if eager.exists() {
        // With the Map/Set call sites passing `heap_ptr` (the default) and
        // with the module as compiled.
        for (flags, label) in [
            (&["--guest-alloc"][..], "eager-gc build"),
            (&["--guest-alloc", "--as-is"][..], "eager-gc build, --as-is"),
        ] {
            let got = run_fixture(stem, &eager, flags);
            if overflows_as_is && flags.contains(&"--as-is") {
                problems.extend(overflowed(&got, label));
                continue;
            }
            problems.extend(
                compare(&got, want_stdout, want_err, want_code)
                    .into_iter()
                    .map(|p| format!("[{label}] {p}")),
            );
        }
    }
    if v025.exists() {
        // Where the program itself behaves differently under 0.2.5
        // (`"v025"` in its correction), what `vera run` 0.2.5 printed.
        let own = &expected["v025"];
        let field = |key: &str| {
            if own.get(key).is_some() {
                &own[key]
            } else {
                &expected[key]
            }
        };
        let (want_stdout, want_err, want_code) = (
            field("stdout").as_str().unwrap(),
            field("stderr_first_line").as_str().unwrap(),
            field("exit_code").as_i64().unwrap() as i32,
        );
        let got = run_fixture(stem, &v025, &[]);
        let (got, want) = comparable(&name, got, want_stdout);
        problems.extend(
            compare(&got, &want, want_err, want_code)
                .into_iter()
                .map(|p| format!("[Vera 0.2.5 build] {p}")),
        );
        // As compiled: the module's own hash trie and allocator.
        let got = run_fixture(stem, &v025, &["--as-is"]);
        problems.extend(
            compare(&got, want_stdout, want_err, want_code)
                .into_iter()
                .map(|p| format!("[Vera 0.2.5 build, --as-is] {p}")),
        );
    }
    (!problems.is_empty()).then(|| format!("{name}: {}", problems.join("\n")))
}

/// A CLI fixture: both builds, beside a copy of the source, must print
/// exactly what `vera run` of their version printed.
fn check_cli(name: &str, stem: &Path, expected: &Value) -> Option<String> {
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(stem.with_extension("run.json")).unwrap()).unwrap();
    let source = stem.with_extension("vera");
    let mut problems = Vec::new();
    for (build, want, label) in [
        (stem.with_extension("wasm"), expected, "Vera 0.2.3 build"),
        (stem.with_extension("v025.wasm"), &expected["v025"], "Vera 0.2.5 build"),
    ] {
        if !build.exists() || want.is_null() {
            continue;
        }
        let cwd = tempfile::tempdir().unwrap();
        std::fs::copy(&source, cwd.path().join(source.file_name().unwrap())).unwrap();
        let wasm = format!("{name}.wasm");
        std::fs::copy(&build, cwd.path().join(&wasm)).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vera-rt"));
        cmd.arg("run").arg(&wasm);
        for flag in spec["flags"].as_array().into_iter().flatten() {
            cmd.arg(flag.as_str().unwrap());
        }
        if let Some(f) = spec["fn"].as_str() {
            cmd.args(["--fn", f]);
        }
        if let Some(args) = spec["args"].as_array() {
            cmd.arg("--");
            cmd.args(args.iter().map(|a| a.as_str().unwrap()));
        }
        for var in INFERENCE_VARS {
            cmd.env_remove(var);
        }
        let out = cmd
            .current_dir(cwd.path())
            .env("VERA_RT_FIXTURE_ENV", "fixture-env-value")
            .stdin(Stdio::null())
            .output()
            .expect("vera-rt runs");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let want_stderr = want["stderr"]
            .as_str()
            .unwrap()
            .replace("vera run <file>", "vera-rt run <file>");
        if stdout != want["stdout"].as_str().unwrap() {
            problems.push(format!(
                "[{label}] stdout:\n--- want\n{}\n--- got\n{stdout}",
                want["stdout"].as_str().unwrap()
            ));
        }
        if stderr != want_stderr {
            problems.push(format!("[{label}] stderr:\n--- want\n{want_stderr}\n--- got\n{stderr}"));
        }
        let code = out.status.code().unwrap_or(-1) as i64;
        if code != want["exit_code"].as_i64().unwrap() {
            problems.push(format!("[{label}] exit: want {}, got {code}", want["exit_code"]));
        }
    }
    (!problems.is_empty()).then(|| format!("{name}: {}", problems.join("\n")))
}

/// Whether `NAME.expected.json` is what `vera run` of 0.2.5 printed (a
/// fixture listed in `fixtures/V025_ONLY`).
fn v025_only(expected_path: &Path) -> bool {
    let text = std::fs::read_to_string(expected_path).unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    expected.get("vera").and_then(Value::as_str) == Some("0.2.5")
}

/// A fixture only Vera 0.2.4+ compiles: its 0.2.5 build, and its eager-GC
/// 0.2.5 build with every host allocation through the guest's `alloc`;
/// no stale 0.2.3 build beside them.
fn check_v025_only(name: &str, stem: &Path, expected_path: &Path, v025: &Path) -> Option<String> {
    if !v025.exists() || stem.with_extension("wasm").exists() {
        return Some(format!(
            "{name}: a 0.2.5-only fixture needs NAME.v025.wasm and no NAME.wasm; run scripts/regen-fixtures {name}"
        ));
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(expected_path).unwrap()).unwrap();
    let mut problems = Vec::new();
    let eager = stem.with_extension("v025.eager-gc.wasm");
    for (wasm, flags, label) in [
        (v025, &[][..], "Vera 0.2.5 build"),
        (v025, &["--as-is"][..], "Vera 0.2.5 build, --as-is"),
        (&eager, &["--guest-alloc"][..], "Vera 0.2.5 eager-gc build"),
    ] {
        if !wasm.exists() {
            problems.push(format!("[{label}] missing; run scripts/regen-fixtures {name}"));
            continue;
        }
        let got = run_fixture(stem, wasm, flags);
        problems.extend(
            compare(
                &got,
                expected["stdout"].as_str().unwrap(),
                expected["stderr_first_line"].as_str().unwrap(),
                expected["exit_code"].as_i64().unwrap() as i32,
            )
            .into_iter()
            .map(|p| format!("[{label}] {p}")),
        );
    }
    (!problems.is_empty()).then(|| format!("{name}: {}", problems.join("\n")))
}

fn compare(got: &Observed, want_stdout: &str, want_err: &str, want_code: i32) -> Vec<String> {
    let got_err = got.stderr.lines().next().unwrap_or("");
    let mut problems = Vec::new();
    if got.stdout != want_stdout {
        problems.push(format!("stdout:\n--- want\n{want_stdout}\n--- got\n{}", got.stdout));
    }
    if got_err != want_err {
        problems.push(format!("stderr first line: want {want_err:?}, got {got_err:?}"));
    }
    if got.code != want_code {
        problems.push(format!("exit: want {want_code}, got {}", got.code));
    }
    problems
}
