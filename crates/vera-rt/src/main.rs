//! `vera-rt`: run a Vera 0.2.3 program the way `vera run` does.
//!
//! Only flag parsing, compiling `.vera` sources with the `vera` compiler,
//! and printing live here; running is `vera_host`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Parser, Subcommand};
use vera_host::source::SourceInfo;
use vera_host::{Failure, LoadOptions, Program, RunOptions, Value};

mod json;
mod traps;

use json::Json;

#[derive(Parser)]
#[command(
    name = "vera-rt",
    version,
    about = "A fast native runtime for WebAssembly modules compiled by Vera 0.2.3"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run a program: prints its output, then the called function's value
    /// (when the program printed nothing), like `vera run`. A trap or
    /// contract violation prints `Error: <description>`, the source
    /// backtrace and the kind's Fix paragraph, and exits 1; `IO.exit(n)`
    /// exits n. `--json` prints `vera run --json`'s envelope instead.
    Run(RunArgs),
    /// Write a web page that runs the program in the browser: DIR gets
    /// index.html, runtime.mjs (vera-rt's browser runtime) and the module.
    /// Serve DIR over HTTP (module scripts do not load from file://); the
    /// page shows stdout in #stdout, stderr in #stderr and the exit code in
    /// #exit-code, then sets data-status="done" on <body>.
    Bundle(BundleArgs),
}

#[derive(clap::Args)]
struct BundleArgs {
    /// A module compiled by Vera 0.2.3 (`.wasm`), or a `.vera` source.
    file: PathBuf,
    /// The directory to write (created if missing).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: PathBuf,
    /// The function to call (default: `main`).
    #[arg(long = "fn", value_name = "NAME")]
    function: Option<String>,
    /// A file whose contents the page feeds to the program's stdin
    /// (without it, `IO.read_line` asks the page's user with `prompt`).
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// A variable the page's `IO.get_env` sees (repeatable; without any,
    /// the page's environment is empty).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Arguments for the function and for `IO.args`.
    #[arg(last = true)]
    args: Vec<String>,
}

/// The browser runtime, shipped inside the binary. `browser/` in this
/// crate holds symlinks to the workspace's `browser/runtime.mjs`,
/// `browser/index.html` and `browser/vera-core.wasm` (one copy to edit),
/// which `cargo package` stores as the files themselves, so the packaged
/// crate builds on its own.
const RUNTIME_MJS: &str = include_str!("../browser/runtime.mjs");
const INDEX_HTML: &str = include_str!("../browser/index.html");
/// The Rust the page shares with the CLI (regex, Markdown, HTML, JSON,
/// Decimal), built for wasm32.
const CORE_WASM: &[u8] = include_bytes!("../browser/vera-core.wasm");

#[derive(clap::Args)]
struct RunArgs {
    /// A module compiled by Vera 0.2.3 (`.wasm` or `.wat`), or a `.vera`
    /// source, compiled first with the `vera` compiler from $VERA_COMPILER
    /// or PATH (`pip install veralang==0.2.3`).
    file: PathBuf,
    /// The function to call (default: `main`).
    #[arg(long = "fn", value_name = "NAME")]
    function: Option<String>,
    /// Print run statistics to stderr afterwards: compile and run time,
    /// peak heap, memory size, Map/Set calls that reached the host.
    #[arg(long)]
    stats: bool,
    /// Stop the program after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Largest linear memory the program may grow to, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    max_memory: usize,
    /// Make every host allocation call the module's `alloc` instead of
    /// bumping `heap_ptr` directly (slower; with a `VERA_EAGER_GC=1` build
    /// it checks that the host roots everything it holds).
    #[arg(long)]
    guest_alloc: bool,
    /// Compile the module every time instead of using wasmtime's on-disk
    /// cache of compiled code (~/.cache/wasmtime).
    #[arg(long)]
    no_cache: bool,
    /// Compile the module exactly as given: without this, the calls of the
    /// Map/Set imports are rewritten to pass the guest's `heap_ptr` to
    /// vera-rt and back, and lookups with Int, Float64 or word keys are
    /// answered inside the module (the same program, fewer trips to the
    /// host).
    #[arg(long)]
    as_is: bool,
    /// Longest string vera-rt itself parses or builds for the program
    /// (`json_parse` input, `json_stringify` output, `decimal_from_string`
    /// input), in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_host_string: usize,
    /// Most digits of a Decimal parsed from text.
    #[arg(long, value_name = "N", default_value_t = vera_host::HostLimits::DEFAULT_MAX_DECIMAL_DIGITS)]
    max_decimal_digits: usize,
    /// Most memory vera-rt itself holds for one host call of the program
    /// (text copied out of a Markdown or HTML tree, a file read whole, an
    /// HTTP body, a parsed JSON tree, a regex's matches), in MiB [default:
    /// --max-memory, at most 512].
    #[arg(long, value_name = "MIB")]
    max_host_memory: Option<usize>,
    /// Most Decimal values alive at once.
    #[arg(long, value_name = "N", default_value_t = vera_host::HostLimits::DEFAULT_MAX_HANDLES)]
    max_handles: usize,
    /// Print `vera run --json`'s envelope on stdout instead of the
    /// program's output: `ok`, `file`, `function`, `value`, `stdout` (and
    /// `stderr`, `exit_code` when there are any), or for a trap
    /// `diagnostics` with its `description`, `trap_kind`, `frames` and
    /// `fix`.
    #[arg(long)]
    json: bool,
    /// Arguments for the function (parsed by its parameter types, from
    /// the source when FILE is a .vera or FILE.vera lies beside FILE.wasm)
    /// and for `IO.args`.
    #[arg(last = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Commands::Run(args) => run(args),
        Commands::Bundle(args) => bundle(args),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("Error: {message}");
    ExitCode::from(1)
}

/// Why there is no module to run.
enum NoModule {
    /// A message for `Error: `.
    Message(String),
    /// The compiler refused the source and said why: its stdout (the
    /// `--json` envelope when asked for one) and stderr.
    Refused { stdout: Vec<u8>, stderr: Vec<u8> },
}

impl From<String> for NoModule {
    fn from(message: String) -> NoModule {
        NoModule::Message(message)
    }
}

/// Compiles a `.vera` file with the Vera compiler into `dir`. A refusal
/// comes with the compiler's diagnostics; with `json`, as its `--json`
/// envelope (asked for again: `vera compile --json` writes no module).
fn compile_vera(source: &Path, dir: &Path, json: bool) -> Result<PathBuf, NoModule> {
    let compiler = std::env::var_os("VERA_COMPILER").unwrap_or_else(|| "vera".into());
    let out = dir.join("program.wasm");
    let result = Command::new(&compiler)
        .arg("compile")
        .arg(source)
        .arg("-o")
        .arg(&out)
        .output();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(NoModule::Message(format!(
            "cannot compile {}: the Vera compiler `{}` was not found. Install it with `python3 -m venv venv && venv/bin/pip install veralang==0.2.3`, then put venv/bin on PATH or set VERA_COMPILER to its `vera`.",
            source.display(),
            compiler.to_string_lossy()
        ))),
        Err(e) => Err(NoModule::Message(format!("cannot run the Vera compiler: {e}"))),
        Ok(o) if !o.status.success() => {
            let o = if json {
                Command::new(&compiler)
                    .args(["compile", "--json"])
                    .arg(source)
                    .output()
                    .unwrap_or(o)
            } else {
                o
            };
            Err(NoModule::Refused {
                stdout: o.stdout,
                stderr: o.stderr,
            })
        }
        Ok(_) => Ok(out),
    }
}

/// The module's bytes: read, or compiled first from a `.vera` source.
fn module_bytes(file: &Path, json: bool) -> Result<Vec<u8>, NoModule> {
    let tempdir;
    let path = if file.extension().is_some_and(|e| e == "vera") {
        tempdir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        compile_vera(file, tempdir.path(), json)?
    } else {
        file.to_owned()
    };
    Ok(std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
}

fn bundle(args: BundleArgs) -> ExitCode {
    let bytes = match module_bytes(&args.file, false) {
        Ok(b) => b,
        Err(NoModule::Message(message)) => return fail(message),
        Err(NoModule::Refused { stdout, stderr }) => {
            std::io::stderr().write_all(&stderr).ok();
            std::io::stderr().write_all(&stdout).ok();
            return fail(format!("compiling {} failed", args.file.display()));
        }
    };
    if !bytes.starts_with(b"\0asm") {
        return fail(format!("{}: not a WebAssembly binary module", args.file.display()));
    }
    // The page runs the module as `vera-rt run` would: its collector
    // rewritten here, once.
    let bytes = vera_host::prepared(bytes);
    let stdin = match &args.stdin {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some(text),
            Err(e) => return fail(format!("cannot read {}: {e}", p.display())),
        },
        None => None,
    };
    let stem = args
        .file
        .file_stem()
        .map_or("program".into(), |s| s.to_string_lossy().into_owned());
    let module = format!("{stem}.wasm");
    let mut env = serde_json::Map::new();
    for pair in &args.env {
        let Some((name, value)) = pair.split_once('=') else {
            return fail(format!("--env {pair}: expected NAME=VALUE"));
        };
        env.insert(name.to_owned(), value.into());
    }
    let config = serde_json::json!({
        "module": module, "fn": args.function, "args": args.args, "stdin": stdin, "env": env,
    });
    // `<` escaped so the JSON cannot close the <script> element it sits in.
    let config = config.to_string().replace('<', "\\u003c");
    let html = INDEX_HTML
        .replace("{{CONFIG}}", &config)
        .replace("{{TITLE}}", &stem.replace('<', "&lt;"));
    let written = std::fs::create_dir_all(&args.out)
        .and_then(|()| std::fs::write(args.out.join("index.html"), html))
        .and_then(|()| std::fs::write(args.out.join("runtime.mjs"), RUNTIME_MJS))
        .and_then(|()| std::fs::write(args.out.join("vera-core.wasm"), CORE_WASM))
        .and_then(|()| std::fs::write(args.out.join(&module), &bytes));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write {}: {e}", args.out.display())),
    }
}

/// The program's source: FILE itself when it is a `.vera`, else
/// FILE.vera beside FILE.wasm (for `NAME.v025.wasm` also `NAME.vera`),
/// read as Vera's compiler reads its declarations. The path is spelled as
/// the user spelled FILE, which is what a backtrace shows.
fn find_source(file: &Path) -> Option<SourceInfo> {
    let mut candidates = Vec::new();
    if file.extension().is_some_and(|e| e == "vera") {
        candidates.push(file.to_owned());
    } else {
        let stem = file.with_extension("");
        candidates.push(stem.with_extension("vera"));
        if stem.extension().is_some() {
            candidates.push(stem.with_extension("").with_extension("vera"));
        }
    }
    candidates.into_iter().find_map(|path| {
        let text = std::fs::read_to_string(&path).ok()?;
        Some(SourceInfo::parse(&path.to_string_lossy(), &text))
    })
}

/// `vera run --json`'s envelope for a program refused before it ran.
fn refusal_envelope(file: &str, message: &str) -> Json {
    Json::Object(vec![
        ("ok", Json::Bool(false)),
        ("file", Json::str(file)),
        (
            "diagnostics",
            Json::Array(vec![Json::Object(vec![
                ("severity", Json::str("error")),
                ("description", Json::str(message)),
                (
                    "location",
                    Json::Object(vec![("line", Json::Int(0)), ("column", Json::Int(0))]),
                ),
            ])]),
        ),
    ])
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Unit => Json::Null,
        Value::Int(v) => Json::Int(*v as i128),
        Value::Float(v) => Json::Float(*v),
        Value::Word(v) => Json::Int(*v as i128),
        Value::Str(s) => Json::str(s.clone()),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let source = find_source(&args.file).map(std::sync::Arc::new);
    // What `--json`'s `file` says: the source, as `vera run` names it, or
    // the module given.
    let file_name = source
        .as_ref()
        .map_or_else(|| args.file.to_string_lossy().into_owned(), |s| s.path.clone());
    let as_json = args.json;
    let refuse = |message: String| {
        if as_json {
            println!("{}", refusal_envelope(&file_name, &message).dumps());
            ExitCode::from(1)
        } else {
            fail(message)
        }
    };
    if !args.file.exists() {
        return refuse(format!("file not found: {}", args.file.display()));
    }
    let bytes = match module_bytes(&args.file, as_json) {
        Ok(b) => b,
        Err(NoModule::Message(message)) => return refuse(message),
        // The compiler's diagnostics, which are `vera run`'s: its text on
        // stderr, or its envelope (less `compile --json`'s empty
        // `warnings`, which `vera run --json` does not have).
        Err(NoModule::Refused { stdout, stderr }) => {
            std::io::stderr().write_all(&stderr).ok();
            let stdout = String::from_utf8_lossy(&stdout);
            let envelope = stdout
                .trim_end()
                .strip_suffix(",\n  \"warnings\": []\n}")
                .map_or_else(|| stdout.to_string(), |head| format!("{head}\n}}\n"));
            std::io::stdout().write_all(envelope.as_bytes()).ok();
            if stderr.is_empty() && envelope.trim().is_empty() {
                return fail(format!("compiling {} failed", args.file.display()));
            }
            return ExitCode::from(1);
        }
    };
    let load = LoadOptions {
        timeouts: args.timeout.is_some(),
        compile_cache: !args.no_cache,
        as_is: args.as_is,
    };
    let program = match Program::load_with(&bytes, &load) {
        Ok(p) => p,
        Err(e) => return refuse(format!("{}: {e}", args.file.display())),
    };
    let timeout = match args.timeout.map(Duration::try_from_secs_f64) {
        Some(Err(_)) => return refuse("--timeout must be a non-negative number of seconds".into()),
        Some(Ok(d)) => Some(d),
        None => None,
    };
    // `vera run` parses arguments only when `--` is given (even with none
    // after it); without, a function with parameters is refused.
    let args_given = std::env::args_os().any(|a| a == "--");
    let (io, captured) = if as_json {
        let (captured_options, captured) = RunOptions::captured();
        (
            RunOptions {
                stdin: RunOptions::inherit().stdin,
                ..captured_options
            },
            Some(captured),
        )
    } else {
        (RunOptions::inherit(), None)
    };
    let options = RunOptions {
        function: args.function.clone(),
        args: args.args.clone(),
        args_given,
        source: source.clone(),
        max_memory: Some(args.max_memory.saturating_mul(1 << 20)),
        timeout,
        bump_allocate: !args.guest_alloc,
        limits: vera_host::HostLimits {
            max_host_string: args.max_host_string.saturating_mul(1 << 20),
            max_decimal_digits: args.max_decimal_digits,
            max_handles: args.max_handles,
            max_host_memory: args.max_host_memory.map(|m| m.saturating_mul(1 << 20)),
        },
        ..io
    };
    let report = program.run(options);
    if let Some(note) = &report.note {
        eprintln!("{note}");
    }
    let v025 = program.built_by_v025();
    if let Some(captured) = captured {
        let code = print_envelope(&report, &captured, &file_name, source.as_deref(), v025);
        print_stats(&args, &report);
        return code;
    }
    let mut stdout = std::io::stdout();
    if report.stdout_ends_newline == Some(false) {
        stdout.write_all(b"\n").ok();
    }
    if report.stderr_ends_newline == Some(false) {
        eprintln!();
    }
    let code = match &report.outcome {
        Ok(value) => {
            if report.stdout_ends_newline.is_none() {
                if let Some(line) = value.display() {
                    writeln!(stdout, "{line}").ok();
                }
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Exit(code)) => ExitCode::from(*code as u8),
        Err(Failure::Trap { kind, message, frames }) => {
            stdout.flush().ok();
            eprintln!("Error: {message}");
            if kind != "usage" {
                let registry = traps::Registry::for_build(v025, frames);
                let frames = traps::resolve(frames, source.as_deref(), &registry);
                eprint!("{}", traps::backtrace_text(&frames, source.is_some()));
                let (_, fix) = registry.fix(traps::vera_kind(kind));
                if !fix.is_empty() {
                    eprintln!("Fix:\n{fix}");
                }
            }
            ExitCode::from(1)
        }
    };
    stdout.flush().ok();
    print_stats(&args, &report);
    code
}

/// `vera run --json`'s envelope for the run: the value and the output
/// (with `exit_code` after `IO.exit`), the trap's diagnostic with its
/// frames and Fix, or the refusal. Returns the exit code `vera run` gives.
fn print_envelope(
    report: &vera_host::Report,
    captured: &vera_host::Captured,
    file: &str,
    source: Option<&SourceInfo>,
    v025: bool,
) -> ExitCode {
    let (stdout, stderr) = (captured.stdout(), captured.stderr());
    let output = |fields: &mut Vec<(&'static str, Json)>, always_stdout: bool| {
        if always_stdout || !stdout.is_empty() {
            fields.push(("stdout", Json::str(stdout.clone())));
        }
        if !stderr.is_empty() {
            fields.push(("stderr", Json::str(stderr.clone())));
        }
    };
    let success = |value: Json, exit: Option<i64>| {
        let mut fields = vec![
            ("ok", Json::Bool(true)),
            ("file", Json::str(file)),
            ("function", report.function.clone().map_or(Json::Null, Json::Str)),
            ("value", value),
        ];
        output(&mut fields, true);
        if let Some(code) = exit {
            fields.push(("exit_code", Json::Int(code as i128)));
        }
        Json::Object(fields)
    };
    let (envelope, code) = match &report.outcome {
        Ok(value) => (success(value_json(value), None), ExitCode::SUCCESS),
        Err(Failure::Exit(code)) => (success(Json::Null, Some(*code)), ExitCode::from(*code as u8)),
        Err(Failure::Trap { kind, message, .. }) if kind == "usage" => {
            (refusal_envelope(file, message), ExitCode::from(1))
        }
        Err(Failure::Trap { kind, message, frames }) => {
            let registry = traps::Registry::for_build(v025, frames);
            let kind = traps::vera_kind(kind);
            let frames = traps::resolve(frames, source, &registry)
                .into_iter()
                .map(|f| {
                    let line = |l: Option<u32>| l.map_or(Json::Null, |l| Json::Int(l as i128));
                    Json::Object(vec![
                        ("func", Json::str(f.func)),
                        ("file", Json::str(f.file)),
                        ("line_start", line(f.lines.map(|l| l.0))),
                        ("line_end", line(f.lines.map(|l| l.1))),
                        ("is_builtin", Json::Bool(f.is_builtin)),
                    ])
                })
                .collect();
            let diagnostic = Json::Object(vec![
                ("severity", Json::str("error")),
                ("description", Json::str(message.clone())),
                ("trap_kind", Json::str(kind)),
                (
                    "location",
                    Json::Object(vec![("line", Json::Int(0)), ("column", Json::Int(0))]),
                ),
                ("frames", Json::Array(frames)),
                ("fix", Json::str(registry.fix(kind).0)),
            ]);
            let mut fields = vec![
                ("ok", Json::Bool(false)),
                ("file", Json::str(file)),
                ("diagnostics", Json::Array(vec![diagnostic])),
            ];
            output(&mut fields, false);
            (Json::Object(fields), ExitCode::from(1))
        }
    };
    println!("{}", envelope.dumps());
    code
}

fn print_stats(args: &RunArgs, report: &vera_host::Report) {
    if args.stats {
        let s = &report.stats;
        eprintln!("--- vera-rt stats ---");
        eprintln!("compile time:    {:.3} ms", s.compile_time.as_secs_f64() * 1e3);
        eprintln!("run time:        {:.3} ms", s.run_time.as_secs_f64() * 1e3);
        eprintln!("peak heap:       {} bytes", s.peak_heap);
        eprintln!("memory size:     {} bytes", s.memory_bytes);
        eprintln!("collector:       {}", s.collector);
        eprintln!("collections:     {}", s.collections);
        // Lookups the module answers itself never reach the host.
        eprintln!("map host calls:  {}", s.host.map_ops);
        eprintln!("set host calls:  {}", s.host.set_ops);
        eprintln!(
            "host allocs:     {} bumped, {} through alloc, {} memory grows",
            s.host.bump_allocs, s.host.guest_allocs, s.host.guest_grows
        );
        eprintln!(
            "live handles:    {} at end, {} at peak",
            s.host.live_handles_end, s.host.live_handles_peak
        );
        for (name, throughput) in [
            ("json_parse", &s.host.json_parse),
            ("json_stringify", &s.host.json_stringify),
        ] {
            if throughput.calls > 0 {
                eprintln!("{:<17}{}", format!("{name}:"), throughput.describe());
            }
        }
    }
}
