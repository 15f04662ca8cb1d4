//! Hostile guests through the CLI: each module in `tests/hostile/` must end
//! with one `Error: ...` line naming what went wrong (or which limit), exit
//! status 1, and no panic. The full matrix (thousands of cases) is
//! `crates/vera-host/tests/hostile.rs`; this checks the process boundary.

use std::process::Command;

fn run(file: &str, flags: &[&str]) -> (i32, String) {
    let path = if file.starts_with('/') {
        file.to_owned()
    } else {
        format!("{}/tests/hostile/{file}", env!("CARGO_MANIFEST_DIR"))
    };
    let out = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .arg("run")
        .arg(&path)
        .args(flags)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{file}: panic: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[track_caller]
fn assert_error(file: &str, flags: &[&str], parts: &[&str]) {
    let (code, stderr) = run(file, flags);
    assert_eq!(code, 1, "{file}: {stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(first.starts_with("Error: "), "{file}: {stderr}");
    for part in parts {
        assert!(first.contains(part), "{file}: {first:?} lacks {part:?}");
    }
}

#[test]
fn forged_bucket() {
    assert_error(
        "forged_bucket.wat",
        &[],
        &["vera.map_size: corrupt bucket at 0x200: capacity 12 is not a power of two"],
    );
}

#[test]
fn shared_json_dag_hits_the_output_limit() {
    assert_error(
        "json_dag.wat",
        &["--max-host-string", "1"],
        &["limit exceeded: json_stringify output is over --max-host-string (1048576 bytes)"],
    );
}

#[test]
fn deep_json() {
    assert_error(
        "deep_json.wat",
        &[],
        &["maximum recursion depth exceeded while decoding a JSON array"],
    );
}

#[test]
fn alloc_returning_garbage() {
    assert_error(
        "alloc_garbage.wat",
        &[],
        &["vera.map_new: alloc(40) returned 0xffffffff, which is not a usable block"],
    );
}

#[test]
fn alloc_reentering_the_host() {
    assert_error(
        "reenter.wat",
        &[],
        &["vera.map_new: the guest re-entered vera-rt from inside `alloc`"],
    );
}

#[test]
fn memory_limit_is_named() {
    assert_error(
        "grow_forever.wat",
        &["--max-memory", "16"],
        &[
            "Reached `unreachable` WASM instruction",
            "limit exceeded: growing linear memory to",
            "--max-memory (16777216 bytes)",
        ],
    );
}

#[test]
fn timeout_inside_alloc() {
    assert_error(
        "spin_in_alloc.wat",
        &["--timeout", "0.2"],
        &["time limit exceeded (--timeout)"],
    );
}

#[test]
fn decimal_handle_limit() {
    assert_error(
        "decimal_handles.wat",
        &["--max-handles", "1000"],
        &["limit exceeded: 1000 live Decimal handles (--max-handles)"],
    );
}

#[test]
fn markdown_cycle_stops_at_the_depth_bound() {
    assert_error(
        "md_cycle.wat",
        &[],
        &["corrupt Markdown value at 0x100: nested too deeply"],
    );
}

/// `--timeout` ends host waits on time, with the epoch deadline's words.
#[track_caller]
fn assert_ends_on_time(file: &str, flags: &[&str], within: std::time::Duration, parts: &[&str]) {
    let start = std::time::Instant::now();
    assert_error(file, flags, parts);
    let took = start.elapsed();
    assert!(took < within, "{file}: took {took:?}");
}

#[test]
fn timeout_ends_a_sleep() {
    assert_ends_on_time(
        "sleep_past_timeout.wat",
        &["--timeout", "1"],
        std::time::Duration::from_secs(4),
        &["time limit exceeded (--timeout)"],
    );
}

/// `tests/hostile/{template}` with `text` in place of its placeholder
/// (`URL`, `PATH`) and its length in place of `LEN`, written to a file of
/// its own.
fn module_with(template: &str, placeholder: &str, text: &str, name: &str) -> String {
    let src = std::fs::read_to_string(format!("{}/tests/hostile/{template}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let wat = src.replace(placeholder, text).replace("LEN", &text.len().to_string());
    let path = format!("{}/{name}.wat", env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(&path, wat).unwrap();
    path
}

/// `http_get_arg.wat` fetching `url`.
fn get_module(url: &str, name: &str) -> String {
    module_with("http_get_arg.wat", "URL", url, name)
}

/// A local server that accepts and then answers each connection with
/// `reply` (never, for `None`), on a thread the test leaks.
fn serve(reply: Option<Vec<u8>>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            if let Some(reply) = &reply {
                let _ = stream.write_all(reply);
            }
            held.push(stream);
        }
    });
    url
}

#[test]
fn timeout_ends_an_http_request() {
    let url = serve(None);
    assert_ends_on_time(
        &get_module(&url, "http_silent"),
        &["--timeout", "1"],
        std::time::Duration::from_secs(5),
        &["time limit exceeded (--timeout)"],
    );
}

#[test]
fn http_body_is_capped_by_max_host_string() {
    let body = vec![b'x'; 3 << 20];
    let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    reply.extend_from_slice(&body);
    let url = serve(Some(reply));
    assert_error(
        &get_module(&url, "http_big_body"),
        &["--max-host-string", "1"],
        &["limit exceeded: HTTP response body is over --max-host-string (1048576 bytes)"],
    );
}

#[test]
fn timeout_ends_an_async_http_request() {
    let url = serve(None);
    assert_ends_on_time(
        &module_with("async_get_arg.wat", "URL", &url, "async_silent"),
        &["--timeout", "1"],
        std::time::Duration::from_secs(5),
        &["time limit exceeded (--timeout)"],
    );
}

#[test]
fn async_http_body_is_capped() {
    let body = vec![b'x'; 3 << 20];
    let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    reply.extend_from_slice(&body);
    let url = serve(Some(reply));
    assert_error(
        &module_with("async_get_arg.wat", "URL", &url, "async_big_body"),
        &["--max-host-memory", "1"],
        &["limit exceeded: HTTP response body is over --max-host-memory (1048576 bytes)"],
    );
}

#[test]
fn timeout_ends_a_blocked_read_line() {
    use std::process::Stdio;
    let path = format!("{}/tests/hostile/read_line_blocked.wat", env!("CARGO_MANIFEST_DIR"));
    let start = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .args(["run", &path, "--timeout", "1"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One line, then a pipe held open that nobody writes to.
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"first\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    drop(stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("Error: time limit exceeded (--timeout)"), "{stderr}");
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_file_over_the_host_memory_limit_is_refused_by_its_size() {
    // Sparse: 2 GiB long, no disk blocks; reading it would take seconds
    // and 2 GiB of memory.
    let big = format!("{}/big_sparse.bin", env!("CARGO_TARGET_TMPDIR"));
    std::fs::File::create(&big).unwrap().set_len(2 << 30).unwrap();
    let module = module_with("read_big_file.wat", "PATH", &big, "read_big_file");
    let start = std::time::Instant::now();
    assert_error(
        &module,
        &[],
        &["limit exceeded: file read whole of 2147483648 bytes is over --max-host-memory (536870912 bytes)"],
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    // A device that never ends is cut at the limit.
    let module = module_with("read_big_file.wat", "PATH", "/dev/zero", "read_dev_zero");
    assert_error(
        &module,
        &["--max-host-memory", "1"],
        &["limit exceeded: file read whole of 1048577 bytes is over --max-host-memory (1048576 bytes)"],
    );
    std::fs::remove_file(&big).unwrap();
}

#[test]
fn engine_traps_are_named_as_vera_names_them() {
    assert_error("throw.wat", &[], &["Uncaught exception"]);
    assert_error(
        "trunc_overflow.wat",
        &["--", "1e28"],
        &["Float64 value outside the @Int range"],
    );
    assert_error(
        "trunc_overflow.wat",
        &["--", "nan"],
        &["Float64 value outside the @Int range"],
    );
    assert_error("trunc_overflow.wat", &["--fn", "div"], &["Integer overflow"]);
}

#[test]
fn results_no_vera_type_has_are_refused() {
    for (file, ty) in [("v128_result.wat", "v128"), ("funcref_result.wat", "funcref")] {
        assert_error(file, &[], &[&format!("`main` returned ({ty}), which is no Vera type")]);
        let (_, stderr) = run(file, &[]);
        assert!(!stderr.contains("0x"), "{file}: {stderr}");
    }
}

#[test]
fn a_start_function_may_print() {
    let path = format!("{}/tests/hostile/start_print.wat", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_vera-rt"))
        .args(["run", &path])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from start\n");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_tree_sharing_one_large_text_is_bounded_by_default() {
    // Copied 500 times, the text would be 450 MB (1.37 GB peak); the
    // default --max-host-memory (512 MiB, counting each byte twice for the
    // rendered text) stops the read at about a quarter of a gigabyte.
    assert_error(
        "md_shared_text.wat",
        &[],
        &[
            "limit exceeded: text read from a Markdown tree of",
            "is over --max-host-memory (536870912 bytes)",
        ],
    );
    assert_error(
        "md_shared_text.wat",
        &["--max-memory", "64"],
        &["is over --max-host-memory (67108864 bytes)"],
    );
}
