//! What `vera run` prints about a trap beyond its `Error:` line: the
//! source backtrace and the kind's `Fix:` paragraph.
//!
//! The Fix texts and the prelude's function names are each Vera version's
//! own, dumped from its package by `scripts/vera_traps.py` into
//! `crates/vera-rt/data/vera-0.2.{3,5}-traps.json`.

use serde_json::Value;
use vera_host::source::SourceInfo;

const V023: &str = include_str!("../data/vera-0.2.3-traps.json");
const V025: &str = include_str!("../data/vera-0.2.5-traps.json");

/// One version's trap registry.
pub struct Registry {
    data: Value,
}

impl Registry {
    /// The registry of the Vera version that built the module: 0.2.5's
    /// when its runtime exports say so (`vera_host::Program::built_by_v025`)
    /// or a frame has 0.2.5's `:NAME`.
    pub fn for_build(v025: bool, frames: &[String]) -> Registry {
        let v025 = v025 || frames.iter().any(|f| f.starts_with(':'));
        let text = if v025 { V025 } else { V023 };
        Registry {
            data: serde_json::from_str(text).expect("the embedded trap registry is valid JSON"),
        }
    }

    fn kind(&self, kind: &str) -> Option<&Value> {
        self.data["kinds"]
            .as_array()?
            .iter()
            .find(|k| k["kind"].as_str() == Some(kind))
    }

    /// The Fix paragraph as the registry states it (`vera run --json`'s
    /// `fix`), and as `vera run` prints it under `Fix:` (wrapped,
    /// indented); empty where there is none.
    pub fn fix(&self, kind: &str) -> (String, String) {
        let Some(k) = self.kind(kind) else {
            return (String::new(), String::new());
        };
        let text = |field: &str| k[field].as_str().unwrap_or("").to_owned();
        (text("fix"), text("fix_printed"))
    }

    fn is_prelude(&self, name: &str) -> bool {
        let listed = |n: &str| {
            self.data["prelude_functions"]
                .as_array()
                .is_some_and(|names| names.iter().any(|p| p.as_str() == Some(n)))
        };
        listed(name) || name.rsplit_once('$').is_some_and(|(base, _)| listed(base))
    }
}

/// The `trap_kind` `vera run` reports for one of vera-rt's: the same,
/// except a worklist overflow, which Vera's collector reaches as a bare
/// `unreachable`.
pub fn vera_kind(kind: &str) -> &str {
    match kind {
        "gc_worklist_overflow" => "unreachable",
        other => other,
    }
}

/// One frame of a source backtrace (`vera run`'s `TrapFrame`).
pub struct Frame {
    pub func: String,
    pub file: String,
    pub lines: Option<(u32, u32)>,
    pub is_builtin: bool,
}

/// The wasm frames (innermost first) as `vera run` resolves them: the
/// runtime's helpers and the prelude's functions are built-in, every other
/// frame is looked up in the source (exactly, then by the name before the
/// last `$`), `<unknown>` where it is not found or there is no source.
/// Vera 0.2.5 names a declaration's function `:NAME` (no 0.2.3 name has
/// a colon); the colon is dropped, and such a function is never a helper.
pub fn resolve(names: &[String], source: Option<&SourceInfo>, registry: &Registry) -> Vec<Frame> {
    names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|raw| {
            let raw = raw.strip_prefix('$').unwrap_or(raw);
            let declared = raw.starts_with(':');
            let name = raw.strip_prefix(':').unwrap_or(raw);
            let helper = matches!(name, "alloc" | "gc_collect" | "contract_fail")
                || ["exn_", "vera.", "closure_sig_"].iter().any(|p| name.starts_with(p));
            let is_builtin = registry.is_prelude(name) || (helper && !declared);
            if is_builtin {
                return Frame {
                    func: name.to_owned(),
                    file: "<builtin>".into(),
                    lines: None,
                    is_builtin: true,
                };
            }
            match source.and_then(|s| Some((s, s.locate(name)?))) {
                Some((s, f)) => Frame {
                    func: name.to_owned(),
                    file: s.path.clone(),
                    lines: Some((f.line_start, f.line_end)),
                    is_builtin: false,
                },
                None => Frame {
                    func: name.to_owned(),
                    file: "<unknown>".into(),
                    lines: None,
                    is_builtin: false,
                },
            }
        })
        .collect()
}

/// The backtrace lines `vera run` prints (`Source backtrace:` and its
/// frames; the leading run of built-in frames folded into one line when
/// user code follows). Without the source, `Backtrace:` and the names.
pub fn backtrace_text(frames: &[Frame], have_source: bool) -> String {
    if frames.is_empty() {
        return String::new();
    }
    let first_user = frames.iter().position(|f| !f.is_builtin);
    let shown = &frames[first_user.unwrap_or(0)..];
    let mut text = String::from(if have_source {
        "Source backtrace:\n"
    } else {
        "Backtrace:\n"
    });
    if let Some(hidden @ 1..) = first_user {
        text.push_str(&format!(
            "  (suppressed {hidden} runtime-helper frame{} above first user code)\n",
            if hidden == 1 { "" } else { "s" }
        ));
    }
    for f in shown {
        let line = match (f.is_builtin, f.lines) {
            (true, _) => format!("  in {}  <builtin>", f.func),
            (false, _) if !have_source => format!("  in {}", f.func),
            (false, None) => format!("  in {}  ({})", f.func, f.file),
            (false, Some((a, b))) if a == b => format!("  in {}  ({}:{a})", f.func, f.file),
            (false, Some((a, b))) => format!("  in {}  ({}:{a}-{b})", f.func, f.file),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}
