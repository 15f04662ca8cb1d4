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
}

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
    /// peak heap, memory size, Map/Set operation counts.
    #[arg(long)]
    stats: bool,
    /// Stop the program after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Largest linear memory the program may grow to, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    max_memory: usize,
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

fn run(args: RunArgs) -> ExitCode {
    let tempdir;
    let path = if args.file.extension().is_some_and(|e| e == "vera") {
        tempdir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => return fail(format!("cannot create a temporary directory: {e}")),
        };
        match compile_vera(&args.file, tempdir.path()) {
            Ok(p) => p,
            Err(message) => return fail(message),
        }
    } else {
        args.file.clone()
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
    };
    let load = LoadOptions {
        timeouts: args.timeout.is_some(),
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
        eprintln!("map operations:  {}", s.host.map_ops);
        eprintln!("set operations:  {}", s.host.set_ops);
        eprintln!(
            "live handles:    {} at end, {} at peak",
            s.host.live_handles_end, s.host.live_handles_peak
        );
    }
    code
}
