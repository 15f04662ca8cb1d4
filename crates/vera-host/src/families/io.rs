//! `IO`: print, stderr, stdin, files, args, exit, sleep, time, environment.
//!
//! Behaviour follows Vera 0.2.3's host: strings are decoded with invalid
//! UTF-8 replaced by U+FFFD, `read_line` strips one trailing `\n`,
//! `read_char` returns `Err("EOF")` at end of input, file errors come back
//! as `Err` with Python's wording (`[Errno 2] No such file or directory:
//! 'x'`), and `exit` ends the run with its code.

use std::io::BufRead;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vera_layout::values::{self, Payload, ERR, NONE, OK, SOME};
use wasmtime::Result;

use super::glue::{imports, Pair, Ptr, Text};
use crate::state::HostState;
use crate::trap::HostTrap;

imports! {
    fn print(cx, text: Bytes) -> () {
        let text = String::from_utf8_lossy(&text).into_owned();
        cx.state().write_stdout(text.as_bytes())?;
        Ok(())
    }
    fn stderr(cx, text: Str) -> () {
        cx.state().write_stderr(text.as_bytes())?;
        Ok(())
    }
    fn read_line(cx) -> Text {
        let mut line = read_stdin(cx.state(), |stdin| {
            let mut line = Vec::new();
            stdin.read_until(b'\n', &mut line).map(|_| line)
        })??;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(Text(String::from_utf8_lossy(&line).into_owned()))
    }
    fn read_char(cx) -> Ptr {
        let result = read_stdin(cx.state(), read_one_char)?;
        let (tag, text) = match result {
            Ok(Some(ch)) => (OK, ch.to_string()),
            Ok(None) => (ERR, "EOF".to_owned()),
            Err(e) => (ERR, format!("stdin.read failed: {e}")),
        };
        cx.heap(|h| values::alloc_adt_with_str(h, tag, text.as_bytes())).map(Ptr)
    }
    fn read_file(cx, path: Str) -> Ptr {
        let (tag, text) = match read_bounded(cx.state(), &path)? {
            Ok(bytes) => match vera_families::utf8::decode_error(&bytes) {
                None => (OK, bytes),
                Some(message) => (ERR, message.into_bytes()),
            },
            Err(e) => (ERR, python_os_error(&e, &path).into_bytes()),
        };
        cx.heap(|h| values::alloc_adt_with_str(h, tag, &text)).map(Ptr)
    }
    fn write_file(cx, path: Str, data: Str) -> Ptr {
        cx.heap(|h| match std::fs::write(&path, data.as_bytes()) {
            Ok(()) => values::alloc_adt(h, OK, Payload::Empty),
            Err(e) => values::alloc_adt_with_str(h, ERR, python_os_error(&e, &path).as_bytes()),
        })
        .map(Ptr)
    }
    fn read_bytes(cx, path: Str) -> Ptr {
        // The path as `pathlib` reads it; a read refused by its size
        // traps, an OS error is the guest's `Err`.
        let state = cx.state();
        let result = match python_path_io(&path, |p| Ok(read_bounded(state, p))) {
            Ok(read) => read?.map_err(|e| python_os_error(&e, &python_path(&path))),
            Err(message) => Err(message),
        };
        cx.heap(|h| match &result {
            Ok(bytes) => {
                let (p, l) = values::alloc_str(h, bytes)?;
                values::alloc_adt(h, OK, Payload::Str(p, l))
            }
            Err(message) => values::alloc_adt_with_str(h, ERR, message.as_bytes()),
        })
        .map(Ptr)
    }
    fn write_bytes(cx, path: Str, data: Bytes) -> Ptr {
        let result = python_path_io(&path, |p| std::fs::write(p, &data));
        cx.heap(|h| match &result {
            Ok(()) => values::alloc_adt(h, OK, Payload::Empty),
            Err(message) => values::alloc_adt_with_str(h, ERR, message.as_bytes()),
        })
        .map(Ptr)
    }
    fn args(cx) -> Pair {
        let args = cx.state().args.clone();
        let (p, l) = cx.heap(|h| values::alloc_string_array(h, &args))?;
        Ok(Pair(p, l))
    }
    fn exit(cx, code: i64) -> () {
        Err(HostTrap::Exit(code).into())
    }
    fn sleep(cx, ms: i64) -> () {
        let want = Duration::from_millis(ms.max(0) as u64);
        match super::time_left(cx.state()) {
            // `--timeout` ends the sleep on time.
            Some(left) if left <= want => {
                std::thread::sleep(left);
                Err(super::time_limit_error())
            }
            _ => {
                std::thread::sleep(want);
                Ok(())
            }
        }
    }
    fn time(cx) -> i64 {
        Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64))
    }
    fn get_env(cx, key: Str) -> Ptr {
        let value = cx.state().env_var(&key);
        cx.heap(|h| match &value {
            Some(v) => values::alloc_adt_with_str(h, SOME, v.as_bytes()),
            None => values::alloc_adt(h, NONE, Payload::Empty),
        })
        .map(Ptr)
    }
}

/// Reads the file at `path` whole. One over `--max-host-memory` is
/// refused by its size before any of it is read, and one that grows past
/// it while read (a device that never ends) once it has.
fn read_bounded(state: &HostState, path: &str) -> Result<std::io::Result<Vec<u8>>> {
    use std::io::Read;
    let what = "file read whole";
    let limit = state.host_limits.host_memory();
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let size = file.metadata().map_or(0, |m| m.len());
    super::check_host_memory(state, what, usize::try_from(size).unwrap_or(usize::MAX))?;
    let mut bytes = Vec::with_capacity(size as usize);
    if let Err(e) = (&mut file).take(limit as u64 + 1).read_to_end(&mut bytes) {
        return Ok(Err(e));
    }
    super::check_host_memory(state, what, bytes.len())?;
    Ok(Ok(bytes))
}

/// A read of stdin, done by [`StdinReader`]'s thread.
type StdinRead = Box<dyn FnOnce(&mut dyn BufRead) + Send>;

/// Under `--timeout`, stdin is read on a thread of its own, so a read that
/// blocks (a terminal, a pipe nobody writes) ends at the deadline; the
/// thread, left blocked, ends with the process.
struct StdinReader {
    reads: std::sync::mpsc::Sender<StdinRead>,
}

impl StdinReader {
    fn start(mut stdin: Box<dyn BufRead + Send>) -> StdinReader {
        let (reads, queue) = std::sync::mpsc::channel::<StdinRead>();
        std::thread::spawn(move || {
            for read in queue {
                read(stdin.as_mut());
            }
        });
        StdinReader { reads }
    }
}

/// Runs `read` on the program's stdin, bounded by `--timeout`.
fn read_stdin<T: Send + 'static>(
    state: &mut HostState,
    read: impl FnOnce(&mut dyn BufRead) -> std::io::Result<T> + Send + 'static,
) -> Result<std::io::Result<T>> {
    let Some(deadline) = state.deadline else {
        return Ok(read(state.stdin.as_mut()));
    };
    if state.extensions.get::<StdinReader>().is_none() {
        let stdin = std::mem::replace(&mut state.stdin, Box::new(std::io::empty()));
        state.extensions.insert(StdinReader::start(stdin));
    }
    let reader = state.extensions.get::<StdinReader>().expect("started above");
    let (send, result) = std::sync::mpsc::channel();
    let job: StdinRead = Box::new(move |stdin| {
        let _ = send.send(read(stdin));
    });
    if reader.reads.send(job).is_err() {
        return Ok(Err(std::io::Error::other("stdin reader stopped")));
    }
    match result.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
        Ok(got) => Ok(got),
        Err(_) => Err(super::time_limit_error()),
    }
}

/// Reads one UTF-8 character; `None` at end of input. An invalid sequence
/// reads as U+FFFD.
fn read_one_char(input: &mut dyn BufRead) -> std::io::Result<Option<char>> {
    let mut first = [0u8; 1];
    if input.read(&mut first)? == 0 {
        return Ok(None);
    }
    let width = match first[0] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    };
    let mut buf = vec![first[0]];
    for _ in 1..width {
        let next = input.fill_buf()?;
        match next.first() {
            Some(&b) if b & 0xc0 == 0x80 => {
                buf.push(b);
                input.consume(1);
            }
            _ => break,
        }
    }
    Ok(String::from_utf8_lossy(&buf).chars().next())
}

/// An OS error worded as Python's `str(OSError)`: `[Errno 2] No such file
/// or directory: 'path'`.
pub fn python_os_error(err: &std::io::Error, path: &str) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let text = std::io::Error::from_raw_os_error(code).to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            format!(
                "[Errno {code}] {text}: {}",
                vera_families::pyrepr::python_repr_str(path)
            )
        }
        None => err.to_string(),
    }
}

/// Runs a file operation as Vera 0.2.5's `Path(path).read_bytes()` /
/// `.write_bytes()` do: on the path as `pathlib` normalises it
/// ([`python_path`]), with a failure worded as `str(exc)` names that path
/// (`[Errno 21] Is a directory: '.'` for `""`), and a path holding a NUL
/// byte refused as Python refuses it (`embedded null byte`).
fn python_path_io<T>(path: &str, op: impl FnOnce(&str) -> std::io::Result<T>) -> Result<T, String> {
    if path.contains('\0') {
        return Err("embedded null byte".to_owned());
    }
    let path = python_path(path);
    op(&path).map_err(|e| python_os_error(&e, &path))
}

/// `str(pathlib.PurePosixPath(path))`: empty and `.` components and
/// repeated or trailing slashes dropped, a leading `//` (exactly two) kept,
/// `.` for nothing left.
pub fn python_path(path: &str) -> String {
    let (root, rest) = if path.starts_with("//") && !path.starts_with("///") {
        ("//", &path[2..])
    } else if path.starts_with('/') {
        ("/", path.trim_start_matches('/'))
    } else {
        ("", path)
    };
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let joined = format!("{root}{}", parts.join("/"));
    if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::python_path;

    #[test]
    fn paths_normalise_as_pathlib_does() {
        for (given, want) in [
            ("", "."),
            (".", "."),
            ("./", "."),
            (".//.", "."),
            ("a", "a"),
            ("a/", "a"),
            ("./a", "a"),
            ("a/./b", "a/b"),
            ("a//b/", "a/b"),
            ("a/../b", "a/../b"),
            ("..", ".."),
            ("/", "/"),
            ("/./a", "/a"),
            ("//", "//"),
            ("//x", "//x"),
            ("///x", "/x"),
        ] {
            assert_eq!(python_path(given), want, "{given:?}");
        }
    }
}
