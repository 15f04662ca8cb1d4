//! `vera-rt`: run a Vera 0.2.3 program the way `vera run` does.
//!
//! Only flag parsing, compiling `.vera` sources with the `vera` compiler,
//! and printing live here; running is `vera_host`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Parser, Subcommand};
use vera_host::{Failure, LoadOptions, Program, RunOptions};

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
    /// contract violation prints `Error: <description>` and exits 1;
    /// `IO.exit(n)` exits n.
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
    /// Arguments for the function and for `IO.args`.
    #[arg(last = true)]
    args: Vec<String>,
}

/// The browser runtime, shipped inside the binary.
const RUNTIME_MJS: &str = include_str!("../../../browser/runtime.mjs");
const INDEX_HTML: &str = include_str!("../../../browser/index.html");

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
    /// Most Decimal values alive at once.
    #[arg(long, value_name = "N", default_value_t = vera_host::HostLimits::DEFAULT_MAX_HANDLES)]
    max_handles: usize,
    /// Arguments for the function (parsed by its parameter types) and for
    /// `IO.args`.
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

/// Compiles a `.vera` file with the Vera compiler into `dir`.
fn compile_vera(source: &Path, dir: &Path) -> Result<PathBuf, String> {
    let compiler = std::env::var_os("VERA_COMPILER").unwrap_or_else(|| "vera".into());
    let out = dir.join("program.wasm");
    let result = Command::new(&compiler)
        .arg("compile")
        .arg(source)
        .arg("-o")
        .arg(&out)
        .output();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "cannot compile {}: the Vera compiler `{}` was not found. Install it with `python3 -m venv venv && venv/bin/pip install veralang==0.2.3`, then put venv/bin on PATH or set VERA_COMPILER to its `vera`.",
            source.display(),
            compiler.to_string_lossy()
        )),
        Err(e) => Err(format!("cannot run the Vera compiler: {e}")),
        Ok(o) if !o.status.success() => {
            std::io::stderr().write_all(&o.stderr).ok();
            std::io::stderr().write_all(&o.stdout).ok();
            Err(format!("compiling {} failed", source.display()))
        }
        Ok(_) => Ok(out),
    }
}

/// The module's bytes: read, or compiled first from a `.vera` source.
fn module_bytes(file: &Path) -> Result<Vec<u8>, String> {
    let tempdir;
    let path = if file.extension().is_some_and(|e| e == "vera") {
        tempdir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        compile_vera(file, tempdir.path())?
    } else {
        file.to_owned()
    };
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn bundle(args: BundleArgs) -> ExitCode {
    let bytes = match module_bytes(&args.file) {
        Ok(b) => b,
        Err(message) => return fail(message),
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
    let config = serde_json::json!({
        "module": module, "fn": args.function, "args": args.args, "stdin": stdin,
    });
    // `<` escaped so the JSON cannot close the <script> element it sits in.
    let config = config.to_string().replace('<', "\\u003c");
    let html = INDEX_HTML
        .replace("{{CONFIG}}", &config)
        .replace("{{TITLE}}", &stem.replace('<', "&lt;"));
    let written = std::fs::create_dir_all(&args.out)
        .and_then(|()| std::fs::write(args.out.join("index.html"), html))
        .and_then(|()| std::fs::write(args.out.join("runtime.mjs"), RUNTIME_MJS))
        .and_then(|()| std::fs::write(args.out.join(&module), &bytes));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write {}: {e}", args.out.display())),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let bytes = match module_bytes(&args.file) {
        Ok(b) => b,
        Err(message) => return fail(message),
    };
    let load = LoadOptions {
        timeouts: args.timeout.is_some(),
        compile_cache: !args.no_cache,
        as_is: args.as_is,
    };
    let program = match Program::load_with(&bytes, &load) {
        Ok(p) => p,
        Err(e) => return fail(format!("{}: {e}", args.file.display())),
    };
    let timeout = match args.timeout.map(Duration::try_from_secs_f64) {
        Some(Err(_)) => return fail("--timeout must be a non-negative number of seconds"),
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let options = RunOptions {
        function: args.function,
        args: args.args,
        max_memory: Some(args.max_memory.saturating_mul(1 << 20)),
        timeout,
        bump_allocate: !args.guest_alloc,
        limits: vera_host::HostLimits {
            max_host_string: args.max_host_string.saturating_mul(1 << 20),
            max_decimal_digits: args.max_decimal_digits,
            max_handles: args.max_handles,
        },
        ..RunOptions::inherit()
    };
    let report = program.run(options);
    if let Some(note) = &report.note {
        eprintln!("{note}");
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
            if !frames.is_empty() && kind != "usage" {
                eprintln!("Backtrace (innermost first):");
                for f in frames {
                    eprintln!("  in {f}");
                }
            }
            ExitCode::from(1)
        }
    };
    stdout.flush().ok();
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
    }
    code
}
