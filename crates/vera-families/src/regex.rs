//! `Regex`: `regex_match`, `regex_find`, `regex_find_all`, `regex_replace`.
//!
//! Vera 0.2.3 runs Python's `re` on str patterns, so this module owns a
//! port of Python's pattern parser ([`translate`]): it reports an invalid
//! pattern with Python's message and position (`invalid regex: missing ),
//! unterminated subpattern at position 0`) and rewrites a valid one into
//! `fancy-regex` syntax with Python's meaning (`$` also before a final
//! `\n`, `\Z`, lookbehind, backreferences, possessive repeats). Replacement
//! templates (`\1`, `\g<name>`, `\n`) are parsed as Python's
//! `parse_template` does; only the first match is replaced (`count=1`).
//! `find_all` is `finditer`'s group 0, empty matches included.

use fancy_regex::Regex;
use vera_layout::values::{self, Payload, ERR, NONE, OK, SOME};
use vera_layout::Heap;

use crate::bounds::{Exceeded, Meter};
use crate::Stop;

/// The four regex imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Match,
    Find,
    FindAll,
    Replace,
}

impl Op {
    pub fn of(name: &str) -> Option<Op> {
        Some(match name {
            "regex_match" => Op::Match,
            "regex_find" => Op::Find,
            "regex_find_all" => Op::FindAll,
            "regex_replace" => Op::Replace,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Op::Match => "regex_match",
            Op::Find => "regex_find",
            Op::FindAll => "regex_find_all",
            Op::Replace => "regex_replace",
        }
    }
}

/// What an import answers (its `Ok` payload).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Match(bool),
    Find(Option<String>),
    FindAll(Vec<String>),
    Replace(String),
}

/// Import `op` on `input` and `pattern` (`repl`: `regex_replace`'s
/// template): the outer error is a trap, the inner one the guest's `Err`
/// text, as Vera 0.2.3's `re.search` / `re.finditer` / `re.sub(count=1)`.
/// `find_all` runs within `meter`: the matches it holds, and the time.
pub fn answer(
    op: Op,
    input: &str,
    pattern: &str,
    repl: &str,
    mut meter: Meter,
) -> Result<Result<Answer, String>, Stop> {
    let re = match cached(pattern)? {
        Ok(re) => re,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match op {
        Op::Match => re.search(input, 0).map(|m| Answer::Match(m.is_some())),
        Op::Find => re
            .search(input, 0)
            .map(|m| Answer::Find(m.map(|(s, e)| input[s..e].to_owned()))),
        Op::FindAll => match re.find_all_within(input, &mut meter) {
            Ok(v) => v.map(|v| Answer::FindAll(v.into_iter().map(|(s, e)| input[s..e].to_owned()).collect())),
            Err(e) => return Err(e.stop("regex_find_all's matches")),
        },
        Op::Replace => re.replace_first(input, repl).map(Answer::Replace),
    })
}

/// Compiled patterns by their text, as `re`'s own cache keeps them (512,
/// the oldest dropped first): a program that calls `regex_match` in a loop
/// compiles its pattern once. Only patterns under [`CACHED_PATTERN`] bytes
/// are kept, so the cache stays small whatever the guest sends.
const CACHE_SIZE: usize = 512;
const CACHED_PATTERN: usize = 4096;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::VecDeque<(String, std::rc::Rc<PyRegex>)>> =
        const { std::cell::RefCell::new(std::collections::VecDeque::new()) };
}

fn cached(pattern: &str) -> Result<Result<std::rc::Rc<PyRegex>, String>, Stop> {
    if let Some(re) = CACHE.with_borrow(|c| c.iter().find(|(p, _)| p == pattern).map(|(_, re)| re.clone())) {
        return Ok(Ok(re));
    }
    let re = match PyRegex::compile_guest(pattern)? {
        Ok(re) => std::rc::Rc::new(re),
        Err(e) => return Ok(Err(e)),
    };
    if pattern.len() <= CACHED_PATTERN {
        CACHE.with_borrow_mut(|c| {
            if c.len() >= CACHE_SIZE {
                c.pop_front();
            }
            c.push_back((pattern.to_owned(), re.clone()));
        });
    }
    Ok(Ok(re))
}

pub fn alloc_answer(h: &mut impl Heap, result: Result<Answer, String>) -> vera_layout::GuestResult<u32> {
    match result {
        Err(e) => values::alloc_adt_with_str(h, ERR, e.as_bytes()),
        Ok(Answer::Match(b)) => values::alloc_adt(h, OK, Payload::Word(b as u32)),
        Ok(Answer::Find(m)) => {
            let opt = match m {
                Some(text) => values::alloc_adt_with_str(h, SOME, text.as_bytes())?,
                None => values::alloc_adt(h, NONE, Payload::Empty)?,
            };
            values::alloc_adt(h, OK, Payload::Word(opt))
        }
        Ok(Answer::FindAll(items)) => {
            let (p, n) = values::alloc_string_array(h, &items)?;
            values::alloc_adt(h, OK, Payload::Str(p, n))
        }
        Ok(Answer::Replace(text)) => values::alloc_adt_with_str(h, OK, text.as_bytes()),
    }
}

/// A Python pattern compiled for `fancy-regex`, with Python's group table.
pub struct PyRegex {
    re: Engine,
    /// `re` anchored where a search starts (see [`PyRegex::match_at`]),
    /// compiled when first needed.
    anchored: std::sync::OnceLock<Option<Regex>>,
    /// The translated pattern `re` was compiled from.
    translated: String,
    /// The Python pattern, and its translations for the subjects of other
    /// dialects (see [`Dialect`]), compiled when first needed.
    pattern: String,
    variants: std::sync::Mutex<Vec<(Dialect, Option<Engine>)>>,
    /// The top-level alternatives compiled one by one for the linear
    /// engine, by dialect (see [`BranchSearch`]).
    branch_variants: std::sync::Mutex<Vec<(Dialect, Option<Branches>)>>,
    /// Capturing groups, not counting group 0.
    groups: usize,
    names: Vec<(String, usize)>,
}

impl PyRegex {
    /// Compiles a Python `re` pattern; the error is the `Err` text Vera
    /// returns (`invalid regex: ...`).
    pub fn compile(pattern: &str) -> Result<PyRegex, String> {
        let t = translate(pattern).map_err(|e| format!("invalid regex: {e}"))?;
        PyRegex::from_translated(t, pattern)
    }

    /// [`PyRegex::compile`] for a pattern from the guest: the outer error
    /// is a trap (a pattern nested deeper than Python's recursion limit,
    /// which Vera 0.2.3 does not catch), the inner one Vera's `Err` text.
    pub fn compile_guest(pattern: &str) -> Result<Result<PyRegex, String>, Stop> {
        match translate(pattern) {
            Ok(t) => Ok(PyRegex::from_translated(t, pattern)),
            Err(e) if e.trap => Err(Stop::Refused(e.msg)),
            Err(e) => Ok(Err(format!("invalid regex: {e}"))),
        }
    }

    fn from_translated(t: Translated, pattern: &str) -> Result<PyRegex, String> {
        let (t, re) = build_translation(t, pattern, Dialect::ANY)
            .map_err(|e| format!("invalid regex: unsupported pattern ({e})"))?;
        Ok(PyRegex {
            re,
            anchored: std::sync::OnceLock::new(),
            translated: t.pattern,
            pattern: pattern.to_owned(),
            variants: std::sync::Mutex::new(Vec::new()),
            branch_variants: std::sync::Mutex::new(Vec::new()),
            groups: t.groups,
            names: t.names,
        })
    }

    /// The compiled pattern for subjects like `text` (one look at it),
    /// with what it searches (`text`, or its marked copy).
    fn regex_for(&self, text: &str) -> Matcher {
        let engine = self.engine_for(text);
        let marked = matches!(engine, Engine::Marked(_)).then(|| {
            let mut bytes = text.as_bytes().to_vec();
            if let Some(last) = bytes.last_mut() {
                *last = MARK;
            }
            bytes
        });
        Matcher {
            engine,
            marked,
            general: self.re.clone(),
        }
    }

    fn engine_for(&self, text: &str) -> Engine {
        let dialect = Dialect::of(text);
        if dialect == Dialect::ANY {
            return self.re.clone();
        }
        let mut variants = self.variants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, re)) = variants.iter().find(|(d, _)| *d == dialect) {
            return re.clone().unwrap_or_else(|| self.re.clone());
        }
        // A translation the pattern's constructs do not change is the
        // general one; one that does not compile (not expected: the
        // general one did) falls back to it.
        let re = translate_in(&self.pattern, dialect)
            .ok()
            .filter(|t| t.dialect != Dialect::ANY)
            .and_then(|t| build_translation(t, &self.pattern, dialect).ok())
            .map(|(_, re)| re);
        variants.push((dialect, re.clone()));
        re.unwrap_or_else(|| self.re.clone())
    }

    /// The first match at or after byte `pos`, as a byte range.
    pub fn search(&self, text: &str, pos: usize) -> Result<Option<(usize, usize)>, String> {
        self.regex_for(text).find_from_pos(text, pos)
    }

    /// Whether the pattern matches anywhere (`re.search`).
    pub fn is_match(&self, text: &str) -> bool {
        matches!(self.re.find_from_pos(text, 0), Ok(Some(_)))
    }

    /// The groups of the first match (`re.search(...).groups()` with group
    /// 0 first); an unmatched group is "".
    pub fn captures(&self, text: &str) -> Option<Vec<String>> {
        let spans = self.re.spans_from_pos(text, 0, self.groups).ok()??;
        Some(
            spans
                .into_iter()
                .map(|s| s.map_or(String::new(), |(a, b)| text[a..b].to_owned()))
                .collect(),
        )
    }

    /// `re.match` at byte `pos` (lookbehind sees the text before it):
    /// each group's byte span, `None` when it did not take part.
    ///
    /// Only a match starting at `pos` counts, and the text after `pos` is
    /// not searched for one: the pattern runs as `\G(?:P)()|`, whose empty
    /// second branch ends the search at `pos` when `P` fails there (the
    /// empty group after `P` tells which branch matched). A plain search
    /// would scan the rest of the text at every failing call, which made
    /// `html_parse("<b>" * n)` quadratic.
    pub fn match_at(&self, text: &str, pos: usize) -> Option<Spans> {
        let anchored = self
            .anchored
            .get_or_init(|| Regex::new(&format!("\\G(?:{})()|", self.translated)).ok());
        let Some(anchored) = anchored else {
            // Not expected (the pattern compiled alone): search, then
            // keep only a match at `pos`.
            let spans = self.re.spans_from_pos(text, pos, self.groups).ok()??;
            return (spans[0]?.0 == pos).then_some(spans);
        };
        let caps = anchored.captures_from_pos(text, pos).ok()??;
        caps.get(self.groups + 1)?;
        Some(
            (0..=self.groups)
                .map(|g| caps.get(g).map(|m| (m.start(), m.end())))
                .collect(),
        )
    }

    /// `re.match(pattern, text)` with the groups as strings (an unmatched
    /// group is ""), searching no further than the start.
    pub fn match_start(&self, text: &str) -> Option<Vec<String>> {
        let spans = self.match_at(text, 0)?;
        Some(
            spans
                .into_iter()
                .map(|s| s.map_or(String::new(), |(a, b)| text[a..b].to_owned()))
                .collect(),
        )
    }

    /// Every match as `re.finditer` yields it: after an empty match at
    /// `p` the next search starts at `p` too, but the match it finds there
    /// may not be empty (sre's `must_advance`): `a??` on "abc" is "", "a",
    /// "", "b", ... That search runs the pattern followed by `(?<!\G)`,
    /// "not where the search started", which only a match starting at `p`
    /// can violate, and only by being empty.
    pub fn find_all(&self, text: &str) -> Result<Vec<(usize, usize)>, String> {
        match self.find_all_within(text, &mut Meter::unbounded()) {
            Ok(found) => found,
            Err(_) => unreachable!("an unbounded meter never runs out"),
        }
    }

    /// The top-level alternatives for subjects like `text`, when there
    /// are several and the linear engine runs each (not for
    /// [`Dollar::Marked`]'s marked search).
    fn branches_for(&self, text: &str) -> Option<Branches> {
        let dialect = Dialect::of(text);
        if dialect.dollar == Dollar::Marked {
            return None;
        }
        let mut variants = self.branch_variants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = variants.iter().find(|(d, _)| *d == dialect) {
            return b.clone();
        }
        let compiled = translate_in(&self.pattern, dialect).ok().and_then(|t| {
            if t.branches.len() < 2 {
                return None;
            }
            let linear = |p: &String| regex::RegexBuilder::new(p).nest_limit(NEST_LIMIT).build().ok();
            t.branches
                .iter()
                .map(linear)
                .collect::<Option<Vec<_>>>()
                .map(std::sync::Arc::new)
        });
        variants.push((dialect, compiled.clone()));
        compiled
    }

    /// [`PyRegex::find_all`] within `meter`: each match is charged the
    /// bytes it will hold (its text and its place in the result), and the
    /// clock is read before every search, each of which may scan the rest
    /// of the subject (`a*b|a` on 10^5 `a` is quadratic, in Python too).
    pub fn find_all_within(
        &self,
        text: &str,
        meter: &mut Meter,
    ) -> Result<Result<Vec<(usize, usize)>, String>, Exceeded> {
        self.find_all_by(text, meter, true)
    }

    /// [`PyRegex::find_all_within`]; `by_branches`: a long subject is
    /// searched by the pattern's alternatives ([`BranchSearch`]).
    fn find_all_by(
        &self,
        text: &str,
        meter: &mut Meter,
        by_branches: bool,
    ) -> Result<Result<Vec<(usize, usize)>, String>, Exceeded> {
        let re = self.regex_for(text);
        let mut branches = (by_branches && text.len() >= BranchSearch::MIN_TEXT)
            .then(|| self.branches_for(text))
            .flatten()
            .map(BranchSearch::new);
        let mut advancing: Option<Option<Regex>> = None;
        let mut out = Vec::new();
        let mut pos = 0;
        let mut must_advance = false;
        while pos <= text.len() {
            meter.check_time()?;
            let found = if must_advance {
                let advancing = advancing.get_or_insert_with(|| {
                    // The backtracking engine searches the text itself.
                    let mut dialect = Dialect::of(text);
                    if dialect.dollar == Dollar::Marked {
                        dialect.dollar = Dollar::Any;
                    }
                    let t = translate_in(&self.pattern, dialect).ok()?;
                    build(&format!("(?:{})(?<!\\G)", t.pattern)).ok()
                });
                match advancing {
                    Some(re) => search_in(re, text, pos),
                    // The pattern compiled only for the linear engine (too
                    // deeply nested for the backtracking one): the next
                    // match after this place.
                    None => match text[pos..].chars().next() {
                        Some(ch) => re.find_from_pos(text, pos + ch.len_utf8()),
                        None => Ok(None),
                    },
                }
            } else {
                match &mut branches {
                    Some(b) => Ok(b.next(text, pos)),
                    None => re.find_from_pos(text, pos),
                }
            };
            let (s, e) = match found {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return Ok(Err(e)),
            };
            meter.charge(e - s + std::mem::size_of::<(usize, usize)>() + std::mem::size_of::<String>())?;
            out.push((s, e));
            must_advance = s == e;
            pos = e;
        }
        Ok(Ok(out))
    }

    /// `re.sub(pattern, repl, text, count=1)`.
    pub fn replace_first(&self, text: &str, repl: &str) -> Result<String, String> {
        let template = parse_template(repl, self.groups, &self.names).map_err(|e| match e {
            TemplateError::Re(e) => format!("invalid regex: {e}"),
            TemplateError::UnknownName(n) => format!("invalid regex: unknown group name {}", py_repr(&n)),
        })?;
        let Some(spans) = self.regex_for(text).spans_from_pos(text, 0, self.groups)? else {
            return Ok(text.to_owned());
        };
        let (start, end) = spans[0].expect("group 0 of a match");
        let mut out = String::with_capacity(text.len() + repl.len());
        out.push_str(&text[..start]);
        for piece in &template {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Group(g) => {
                    if let Some(Some((a, b))) = spans.get(*g) {
                        out.push_str(&text[*a..*b]);
                    }
                }
            }
        }
        out.push_str(&text[end..]);
        Ok(out)
    }
}

/// Searches a pattern `A|B|...` by its alternatives, each on its own,
/// keeping each one's next match: the whole pattern's next match starts
/// where the earliest of them does, and is the first alternative's among
/// those starting there (as leftmost-first tries them). A search of the
/// whole pattern scans on while any alternative could still match, so
/// `find_all("a" * n, "a*b|a")` scanned to the end for every `a` (9 s at
/// 10^5); here `a*b` is searched once, finds nothing, and `a` answers.
struct BranchSearch {
    branches: Branches,
    /// Per alternative: its last search, if any.
    next: Vec<Option<Searched>>,
}

/// A pattern's top-level alternatives, compiled.
type Branches = std::sync::Arc<Vec<regex::Regex>>;

/// Where a search started and the match it found (`None`: nothing from
/// there on).
type Searched = (usize, Option<(usize, usize)>);

impl BranchSearch {
    /// Shorter subjects are searched whole: no scan is long there.
    const MIN_TEXT: usize = 256;

    fn new(branches: Branches) -> BranchSearch {
        let next = vec![None; branches.len()];
        BranchSearch { branches, next }
    }

    /// The pattern's first match at or after `pos`.
    fn next(&mut self, text: &str, pos: usize) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (re, cached) in self.branches.iter().zip(self.next.iter_mut()) {
            // A search from `from` <= `pos` that found nothing, or a match
            // at or after `pos`, is what a search from `pos` would find.
            let still = matches!(cached, Some((from, found)) if *from <= pos && found.is_none_or(|(s, _)| s >= pos));
            if !still {
                *cached = Some((pos, re.find_at(text, pos).map(|m| (m.start(), m.end()))));
            }
            if let Some((_, Some((s, e)))) = cached {
                if best.is_none_or(|(b, _)| *s < b) {
                    best = Some((*s, *e));
                }
            }
        }
        best
    }
}

/// Compiles a translated pattern for the backtracking engine.
fn build(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| e.to_string())
}

/// Each group's byte span in a match, `None` for one that took no part.
type Spans = Vec<Option<(usize, usize)>>;

/// A compiled pattern: by the `regex` crate when the translation needs
/// nothing that crate lacks (lookaround, backreferences, atomic groups),
/// else by `fancy-regex`. The first takes nesting as deep as Python does
/// (fancy-regex's parser stops at 64 levels).
#[derive(Clone)]
enum Engine {
    Linear(regex::Regex),
    Backtracking(Regex),
    /// [`Dollar::Marked`]'s: searches the subject with its last byte
    /// [`MARK`].
    Marked(regex::bytes::Regex),
}

/// The byte that stands for a subject's final `\n` ([`Dollar::Marked`]).
const MARK: u8 = 0xFF;

/// An engine and what it searches, for one subject.
struct Matcher {
    engine: Engine,
    /// The subject with its last byte [`MARK`] (for [`Engine::Marked`]).
    marked: Option<Vec<u8>>,
    /// The translation for any subject: answers where the marked search
    /// cannot (a match that does not start and end on a character, which
    /// a byte-level engine may report for an empty match inside one).
    general: Engine,
}

impl Matcher {
    fn find_from_pos(&self, text: &str, pos: usize) -> Result<Option<(usize, usize)>, String> {
        let (Engine::Marked(re), Some(bytes)) = (&self.engine, &self.marked) else {
            return self.engine.find_from_pos(text, pos);
        };
        match re.find_at(bytes, pos) {
            Some(m) if text.is_char_boundary(m.start()) && text.is_char_boundary(m.end()) => {
                Ok(Some((m.start(), m.end())))
            }
            Some(_) => self.general.find_from_pos(text, pos),
            None => Ok(None),
        }
    }

    fn spans_from_pos(&self, text: &str, pos: usize, groups: usize) -> Result<Option<Spans>, String> {
        let (Engine::Marked(re), Some(bytes)) = (&self.engine, &self.marked) else {
            return self.engine.spans_from_pos(text, pos, groups);
        };
        let Some(caps) = re.captures_at(bytes, pos) else {
            return Ok(None);
        };
        let spans: Spans = (0..=groups)
            .map(|g| caps.get(g).map(|m| (m.start(), m.end())))
            .collect();
        let on_chars = spans
            .iter()
            .flatten()
            .all(|&(a, b)| text.is_char_boundary(a) && text.is_char_boundary(b));
        if on_chars {
            Ok(Some(spans))
        } else {
            self.general.spans_from_pos(text, pos, groups)
        }
    }
}

/// Python's nesting limit (491 groups) in translated levels, with room
/// for the groups the translation adds around repeats.
const NEST_LIMIT: u32 = 2 * MAX_NESTED as u32 + 16;

impl Engine {
    /// For [`Dollar::Marked`] translations: the linear engine on bytes,
    /// [`MARK`] its line terminator.
    fn new_marked(pattern: &str) -> Result<Engine, String> {
        regex::bytes::RegexBuilder::new(pattern)
            .nest_limit(NEST_LIMIT)
            .line_terminator(MARK)
            .build()
            .map(Engine::Marked)
            .map_err(|e| e.to_string())
    }

    fn new(pattern: &str) -> Result<Engine, String> {
        match regex::RegexBuilder::new(pattern).nest_limit(NEST_LIMIT).build() {
            Ok(re) => Ok(Engine::Linear(re)),
            Err(linear) => match build(pattern) {
                Ok(re) => Ok(Engine::Backtracking(re)),
                // A pattern the linear engine parsed but could not build
                // (too large) is worth its error, not fancy-regex's.
                Err(_) if matches!(linear, regex::Error::CompiledTooBig(_)) => Err(linear.to_string()),
                Err(e) => Err(e),
            },
        }
    }

    fn find_from_pos(&self, text: &str, pos: usize) -> Result<Option<(usize, usize)>, String> {
        match self {
            Engine::Linear(re) => Ok(re.find_at(text, pos).map(|m| (m.start(), m.end()))),
            Engine::Backtracking(re) => search_in(re, text, pos),
            // Searched through a [`Matcher`], which holds the marked text.
            Engine::Marked(_) => Err("regex failed: marked engine without its subject".to_owned()),
        }
    }

    /// The spans of groups 0..=`groups` of the first match at or after
    /// `pos`.
    fn spans_from_pos(&self, text: &str, pos: usize, groups: usize) -> Result<Option<Spans>, String> {
        Ok(match self {
            Engine::Linear(re) => re
                .captures_at(text, pos)
                .map(|c| (0..=groups).map(|g| c.get(g).map(|m| (m.start(), m.end()))).collect()),
            Engine::Backtracking(re) => re
                .captures_from_pos(text, pos)
                .map_err(|e| format!("regex failed: {e}"))?
                .map(|c| (0..=groups).map(|g| c.get(g).map(|m| (m.start(), m.end()))).collect()),
            Engine::Marked(_) => return Err("regex failed: marked engine without its subject".to_owned()),
        })
    }
}

/// Compiles translation `t` of `pattern`. Counted repeats the linear
/// engine cannot build (`(?:a{0,65535}){0,65535}b` would be 4·10^9
/// states) are translated again for the backtracking engine's counters,
/// as sre runs them.
fn build_translation(t: Translated, pattern: &str, dialect: Dialect) -> Result<(Translated, Engine), String> {
    if t.dialect.dollar == Dollar::Marked {
        // No counters here: a pattern too large falls back to `Any`.
        return Engine::new_marked(&t.pattern).map(|re| (t, re));
    }
    match Engine::new(&t.pattern) {
        Ok(re) => Ok((t, re)),
        Err(e) => {
            let counted = translate_with(pattern, dialect, true).map_err(|_| e.clone())?;
            let re = build(&counted.pattern).map_err(|_| e)?;
            Ok((counted, Engine::Backtracking(re)))
        }
    }
}

/// `re`'s first match at or after byte `pos`, as a byte range.
fn search_in(re: &Regex, text: &str, pos: usize) -> Result<Option<(usize, usize)>, String> {
    match re.find_from_pos(text, pos) {
        Ok(m) => Ok(m.map(|m| (m.start(), m.end()))),
        Err(e) => Err(format!("regex failed: {e}")),
    }
}

/// A Python `re.error`: message and optional position (in characters).
#[derive(Debug, Clone, PartialEq)]
pub struct PyError {
    msg: String,
    pos: Option<usize>,
    pattern: Vec<char>,
    /// Python raised `RecursionError`, not `re.error`: Vera 0.2.3 does
    /// not catch it, so the call traps instead of returning `Err`.
    trap: bool,
}

impl std::fmt::Display for PyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)?;
        if let Some(pos) = self.pos {
            write!(f, " at position {pos}")?;
            if self.pattern.contains(&'\n') {
                let before = &self.pattern[..pos.min(self.pattern.len())];
                let line = before.iter().filter(|&&c| c == '\n').count() + 1;
                let col = pos as i64 - before.iter().rposition(|&c| c == '\n').map_or(-1, |i| i as i64);
                write!(f, " (line {line}, column {col})")?;
            }
        }
        Ok(())
    }
}

/// Python's `repr` of a str (as in `unknown group name 'x'`).
fn py_repr(s: &str) -> String {
    crate::pyrepr::python_repr_str(s)
}

/// Python's `str.isidentifier`, closely enough for group names.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

const MAXREPEAT: u64 = u32::MAX as u64;
const MAXGROUPS: usize = i32::MAX as usize / 2;

/// Python's `Tokenizer` over the pattern's characters.
struct Tokenizer {
    s: Vec<char>,
    index: usize,
    next: Option<String>,
}

impl Tokenizer {
    fn new(pattern: &str) -> Result<Tokenizer, PyError> {
        let mut t = Tokenizer {
            s: pattern.chars().collect(),
            index: 0,
            next: None,
        };
        t.advance()?;
        Ok(t)
    }
    fn advance(&mut self) -> Result<(), PyError> {
        let Some(&c) = self.s.get(self.index) else {
            self.next = None;
            return Ok(());
        };
        let mut tok = c.to_string();
        let mut index = self.index;
        if c == '\\' {
            index += 1;
            match self.s.get(index) {
                Some(&d) => tok.push(d),
                None => {
                    return Err(PyError {
                        msg: "bad escape (end of pattern)".into(),
                        pos: Some(self.s.len() - 1),
                        pattern: self.s.clone(),
                        trap: false,
                    })
                }
            }
        }
        self.index = index + 1;
        self.next = Some(tok);
        Ok(())
    }
    fn is_next(&self, s: &str) -> bool {
        self.next.as_deref() == Some(s)
    }
    fn next_in(&self, set: &str) -> bool {
        matches!(&self.next, Some(n) if n.chars().count() == 1 && set.contains(n.as_str()))
    }
    fn matches(&mut self, s: &str) -> Result<bool, PyError> {
        if self.is_next(s) {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
    fn get(&mut self) -> Result<Option<String>, PyError> {
        let this = self.next.take();
        self.next = this.clone();
        self.advance()?;
        Ok(this)
    }
    fn getwhile(&mut self, n: usize, set: &str) -> Result<String, PyError> {
        let mut out = String::new();
        for _ in 0..n {
            if !self.next_in(set) {
                break;
            }
            out.push_str(self.next.as_deref().unwrap_or(""));
            self.advance()?;
        }
        Ok(out)
    }
    fn getuntil(&mut self, term: &str, name: &str) -> Result<String, PyError> {
        let mut out = String::new();
        loop {
            let c = self.next.clone();
            self.advance()?;
            match c {
                None => {
                    if out.is_empty() {
                        return Err(self.error(format!("missing {name}"), 0));
                    }
                    let n = out.chars().count();
                    return Err(self.error(format!("missing {term}, unterminated name"), n));
                }
                Some(c) if c == term => {
                    if out.is_empty() {
                        return Err(self.error(format!("missing {name}"), 1));
                    }
                    return Ok(out);
                }
                Some(c) => out.push_str(&c),
            }
        }
    }
    fn tell(&self) -> usize {
        self.index - self.next.as_ref().map_or(0, |n| n.chars().count())
    }
    fn seek(&mut self, index: usize) -> Result<(), PyError> {
        self.index = index;
        self.advance()
    }
    fn error(&self, msg: impl Into<String>, offset: usize) -> PyError {
        PyError {
            msg: msg.into(),
            pos: Some(self.tell().saturating_sub(offset)),
            pattern: self.s.clone(),
            trap: false,
        }
    }
    fn check_group_name(&self, name: &str, offset: usize) -> Result<(), PyError> {
        if !is_identifier(name) {
            return Err(self.error(
                format!("bad character in group name {}", py_repr(name)),
                name.chars().count() + offset,
            ));
        }
        Ok(())
    }
}

const FLAG_I: u32 = 2;
const FLAG_M: u32 = 8;
const FLAG_S: u32 = 16;
const FLAG_X: u32 = 64;
const FLAG_A: u32 = 256;
const FLAG_U: u32 = 32;
const FLAG_L: u32 = 4;

fn flag_of(c: &str) -> Option<u32> {
    Some(match c {
        "i" => FLAG_I,
        "L" => FLAG_L,
        "m" => FLAG_M,
        "s" => FLAG_S,
        "x" => FLAG_X,
        "a" => FLAG_A,
        "t" => 1,
        "u" => FLAG_U,
        _ => return None,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Atom,
    At,
    Repeat,
    Group,
    /// Nothing (an empty sequence).
    Empty,
}

struct Item {
    text: String,
    kind: Kind,
    width: (u64, u64),
}

/// The result of [`translate`].
pub struct Translated {
    pub pattern: String,
    pub groups: usize,
    pub names: Vec<(String, usize)>,
    /// The dialect that gives the same translation as the one asked for
    /// (parts the pattern does not use set to `ANY`'s).
    pub dialect: Dialect,
    /// The pattern repeats a group that can match empty (`(?:a*?)+`):
    /// sre ends such a loop at its first empty iteration, where the
    /// engines here backtrack into it for a longer one, so the answers
    /// may differ (the one class of pattern known to).
    pub empty_iteration: bool,
    /// The top-level alternatives (`a*b`, `a` of `a*b|a`), each a whole
    /// pattern (global flags included).
    pub branches: Vec<String>,
}

/// How the few constructs whose translation depends on the subject are
/// written. Python's `$` (end, or before a final `\n`) needs a lookahead,
/// and Python's `\b` (by Python's `\w`) lookarounds, either of which
/// sends the whole pattern to the backtracking engine, where `a*$` on 1500
/// `a` and a `b` exceeds its backtracking limit and `^a+$` on 1 MB its
/// stack; on a subject that cannot tell them apart they are written as
/// the engine's own anchors instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dialect {
    /// The subject is ASCII: Rust's `\b` is Python's there.
    pub ascii_text: bool,
    pub dollar: Dollar,
}

/// What the subject says about Python's `$`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dollar {
    /// Any subject: `(?=\n?\z)`.
    Any,
    /// No `\n` at the end: the end of text, `\z`.
    NoFinalNewline,
    /// A `\n` at the end and nowhere else: the engine's multi-line `$`.
    OnlyFinalNewline,
    /// A `\n` at the end and others before it: the subject is searched
    /// with its last byte replaced by 0xFF, a byte no UTF-8 text holds,
    /// made the engine's line terminator, so the multi-line `$` matches
    /// before it and at the end only; whatever matches `\n` in the
    /// pattern matches that byte too. For patterns without multi-line
    /// anchors that the linear engine runs (else `Any`).
    Marked,
}

impl Dialect {
    /// For any subject.
    pub const ANY: Dialect = Dialect {
        ascii_text: false,
        dollar: Dollar::Any,
    };

    pub fn of(text: &str) -> Dialect {
        let dollar = match text.strip_suffix('\n') {
            None => Dollar::NoFinalNewline,
            Some(rest) if !rest.contains('\n') => Dollar::OnlyFinalNewline,
            Some(_) => Dollar::Marked,
        };
        Dialect {
            // sre's `\B` never matches in an empty string, which Rust's
            // does: the empty subject takes the lookaround form.
            ascii_text: !text.is_empty() && text.is_ascii(),
            dollar,
        }
    }
}

struct State {
    /// Counted repeats for the backtracking engine's counters.
    counters: bool,
    dialect: Dialect,
    /// The pattern has a `\b`/`\B` and a non-multi-line `$`: which parts
    /// of the dialect matter.
    uses_boundary: bool,
    uses_dollar: bool,
    /// A multi-line anchor, which [`Dollar::Marked`] cannot write.
    multiline_anchor: bool,
    empty_iteration: bool,
    /// The translations of the pattern's top-level alternatives.
    top_branches: Vec<String>,
    flags: u32,
    names: Vec<(String, usize)>,
    /// Width of each closed group (index = group number; 0 unused).
    widths: Vec<Option<(u64, u64)>>,
    lookbehind_groups: Option<usize>,
    lookbehind_error: bool,
}

impl State {
    fn groups(&self) -> usize {
        self.widths.len()
    }
    fn check_group(&self, gid: usize) -> bool {
        gid < self.groups() && self.widths[gid].is_some()
    }
    fn check_lookbehind_group(&self, gid: usize, src: &Tokenizer) -> Result<(), PyError> {
        if let Some(lb) = self.lookbehind_groups {
            if !self.check_group(gid) {
                return Err(src.error("cannot refer to an open group", 0));
            }
            if gid >= lb {
                return Err(src.error("cannot refer to group defined in the same lookbehind subpattern", 0));
            }
        }
        Ok(())
    }
}

/// Parses a Python pattern, reporting Python's errors, and returns the
/// equivalent `fancy-regex` pattern.
pub fn translate(pattern: &str) -> Result<Translated, PyError> {
    translate_in(pattern, Dialect::ANY)
}

/// [`translate`] for subjects of `dialect`.
pub fn translate_in(pattern: &str, dialect: Dialect) -> Result<Translated, PyError> {
    translate_with(pattern, dialect, false)
}

/// [`translate_in`]; `counters`: counted repeats are written so that the
/// backtracking engine runs them with its counters (see
/// [`build_translation`]).
fn translate_with(pattern: &str, dialect: Dialect, counters: bool) -> Result<Translated, PyError> {
    let mut src = Tokenizer::new(pattern)?;
    let mut state = State {
        counters,
        dialect,
        uses_boundary: false,
        uses_dollar: false,
        multiline_anchor: false,
        empty_iteration: false,
        top_branches: Vec::new(),
        flags: 0,
        names: Vec::new(),
        widths: vec![Some((0, 0))],
        lookbehind_groups: None,
        lookbehind_error: false,
    };
    let mut body = parse_sub(&mut src, &mut state, false, 0, 0)?;
    if state.flags & FLAG_X != 0 {
        // Python re-parses when (?x) turned verbose on globally.
        let flags = state.flags;
        src = Tokenizer::new(pattern)?;
        state = State {
            counters,
            dialect,
            uses_boundary: false,
            uses_dollar: false,
            multiline_anchor: false,
            empty_iteration: false,
            top_branches: Vec::new(),
            flags,
            names: Vec::new(),
            widths: vec![Some((0, 0))],
            lookbehind_groups: None,
            lookbehind_error: false,
        };
        body = parse_sub(&mut src, &mut state, true, 0, 0)?;
    }
    if src.next.is_some() {
        return Err(src.error("unbalanced parenthesis", 0));
    }
    if dialect.dollar == Dollar::Marked && state.multiline_anchor {
        return translate_with(
            pattern,
            Dialect {
                dollar: Dollar::Any,
                ..dialect
            },
            counters,
        );
    }
    if state.lookbehind_error {
        return Err(PyError {
            msg: "look-behind requires fixed-width pattern".into(),
            pos: None,
            pattern: src.s.clone(),
            trap: false,
        });
    }
    let prefix = if state.flags & FLAG_I != 0 && state.flags & FLAG_A == 0 {
        "(?i)"
    } else {
        ""
    };
    let out = format!("{prefix}{}", body.text);
    let branches = state.top_branches.iter().map(|b| format!("{prefix}{b}")).collect();
    Ok(Translated {
        pattern: out,
        groups: state.groups() - 1,
        names: state.names,
        dialect: Dialect {
            ascii_text: state.uses_boundary && dialect.ascii_text,
            dollar: if state.uses_dollar { dialect.dollar } else { Dollar::Any },
        },
        empty_iteration: state.empty_iteration,
        branches,
    })
}

/// `a|b|c`; `flags` are the scoped flags in force (for `^ $ .`).
fn parse_sub(src: &mut Tokenizer, st: &mut State, verbose: bool, nested: usize, flags: u32) -> Result<Item, PyError> {
    let mut branches = Vec::new();
    let mut verbose = verbose;
    loop {
        let first = nested == 0 && branches.is_empty();
        branches.push(parse(src, st, verbose, nested + 1, first, flags)?);
        if !src.matches("|")? {
            break;
        }
        if nested == 0 {
            verbose = st.flags & FLAG_X != 0;
        }
    }
    if nested == 0 {
        st.top_branches = branches.iter().map(|b| b.text.clone()).collect();
    }
    if branches.len() == 1 {
        return Ok(branches.pop().expect("one branch"));
    }
    let lo = branches.iter().map(|b| b.width.0).min().unwrap_or(0);
    let hi = branches.iter().map(|b| b.width.1).max().unwrap_or(0);
    let text = branches.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("|");
    Ok(Item {
        text: format!("(?:{text})"),
        kind: Kind::Group,
        width: (lo, hi),
    })
}

/// A literal character in `fancy-regex` syntax (inside or outside a class).
fn lit(c: char) -> String {
    if c.is_alphanumeric() || c == '_' || c == ' ' {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", c as u32)
    }
}

/// Python's `(?i)` makes `i`, `I`, dotted `İ` and dotless `ı` one letter
/// (`İ` lowers to `i`, and `ı` is in sre's table of extra equivalences);
/// Rust's simple case folding keeps the last two apart.
const I_FAMILY: [char; 4] = ['i', 'I', '\u{130}', '\u{131}'];

/// Where `(?i)` is on: Python's (`(?a)` too: ASCII letters only, which
/// the translation spells out as the engine's `(?i)` is off there).
fn folding(active: u32) -> Option<bool> {
    (active & FLAG_I != 0).then_some(active & FLAG_A != 0)
}

/// `text`, an item that can match `\n`, where it must also match the
/// subject's marked final newline ([`Dollar::Marked`]).
fn or_marked(st: &State, text: String, matches_newline: bool) -> String {
    if matches_newline && st.dialect.dollar == Dollar::Marked {
        format!("(?:{text}|(?-u:\\xFF))")
    } else {
        text
    }
}

/// Whether category escape `esc` (`\s`, `\W`, ...) holds `\n`.
fn category_has_newline(esc: &str) -> bool {
    matches!(esc, "\\s" | "\\W" | "\\D")
}

/// A literal outside a class, folded as Python folds it.
fn lit_atom(st: &State, c: char, active: u32) -> String {
    if c == '\n' {
        return or_marked(st, lit(c), true);
    }
    match folding(active) {
        Some(false) if I_FAMILY.contains(&c) => "[iI\\x{130}\\x{131}]".to_owned(),
        Some(true) if c.is_ascii_alphabetic() => format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()),
        _ => lit(c),
    }
}

/// What a class of literal ranges `members` must also hold for Python's
/// folding: the i family when any is in it (Unicode), the other case of
/// every ASCII letter (ASCII).
fn folded_members(members: &[(char, char)], active: u32) -> String {
    let mut extra = String::new();
    match folding(active) {
        Some(false)
            if members
                .iter()
                .any(|&(lo, hi)| I_FAMILY.iter().any(|c| (lo..=hi).contains(c))) =>
        {
            extra.push_str("iI\\x{130}\\x{131}");
        }
        Some(true) => {
            for &(lo, hi) in members {
                for (a, b, shift) in [('a', 'z', -32i32), ('A', 'Z', 32)] {
                    let (l, h) = (lo.max(a), hi.min(b));
                    if l <= h {
                        let up = |c: char| char::from_u32((c as i32 + shift) as u32).unwrap_or(c);
                        extra.push_str(&format!("{}-{}", up(l), up(h)));
                    }
                }
            }
        }
        _ => {}
    }
    extra
}

fn escape_value(esc: &str) -> Option<char> {
    Some(match esc {
        "\\a" => '\x07',
        "\\b" => '\x08',
        "\\f" => '\x0c',
        "\\n" => '\n',
        "\\r" => '\r',
        "\\t" => '\t',
        "\\v" => '\x0b',
        "\\\\" => '\\',
        _ => return None,
    })
}

/// `\d \s \w` and their negations as classes of Python's members
/// (`super::regex_classes`, from Python's own tables: its `\s` has
/// `\x1c`-`\x1f`, its `\w` no combining marks but `²`), ASCII ones under
/// `(?a)`.
fn category(esc: &str, active: u32) -> Option<String> {
    use super::regex_classes::{DIGIT, SPACE, WORD};
    let ascii = active & FLAG_A != 0;
    let (members, negated) = match esc {
        "\\d" | "\\D" => (if ascii { "0-9" } else { DIGIT }, esc == "\\D"),
        "\\s" | "\\S" => (if ascii { "\\t\\n\\x0b\\x0c\\r " } else { SPACE }, esc == "\\S"),
        "\\w" | "\\W" => (if ascii { "0-9A-Za-z_" } else { WORD }, esc == "\\W"),
        _ => return None,
    };
    Some(format!("[{}{members}]", if negated { "^" } else { "" }))
}

/// Python's `\b` (`boundary`) or `\B` by its `\w`: the engine's own
/// where the subject is ASCII (its `\w` is Python's there), lookarounds
/// on Python's class elsewhere.
fn word_boundary(st: &mut State, boundary: bool, active: u32) -> String {
    st.uses_boundary = true;
    if st.dialect.ascii_text {
        return if boundary { "\\b" } else { "\\B" }.to_owned();
    }
    let w = category("\\w", active).unwrap_or_default();
    if boundary {
        format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
    } else {
        format!("(?!\\A\\z)(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
    }
}

const OCT: &str = "01234567";
const DIG: &str = "0123456789";
const HEX: &str = "0123456789abcdefABCDEF";

/// A numeric escape shared by `_escape` and `_class_escape`: `\x \u \U \N`.
fn numeric_escape(src: &mut Tokenizer, escape: &str) -> Result<Option<char>, PyError> {
    let c = escape.chars().nth(1).unwrap_or('\0');
    let digits = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        'N' => {
            return Err(src.error("named Unicode escapes (\\N{...}) are not supported", 2));
        }
        _ => return Ok(None),
    };
    let mut e = escape.to_owned();
    e.push_str(&src.getwhile(digits, HEX)?);
    if e.chars().count() != digits + 2 {
        return Err(src.error(format!("incomplete escape {e}"), e.chars().count()));
    }
    let v = u32::from_str_radix(&e[2..], 16).unwrap_or(u32::MAX);
    match char::from_u32(v) {
        Some(ch) => Ok(Some(ch)),
        None if c == 'U' => Err(src.error(format!("bad escape {e}"), e.chars().count())),
        // A lone surrogate (\ud800) cannot occur in a Rust string.
        None => Ok(Some('\u{fffd}')),
    }
}

/// A class member: a literal char, or a category's text (a nested class).
enum ClassCode {
    Lit(char),
    Cat(String),
}

fn class_escape(src: &mut Tokenizer, escape: &str, active: u32) -> Result<ClassCode, PyError> {
    if let Some(ch) = escape_value(escape) {
        return Ok(ClassCode::Lit(ch));
    }
    if let Some(cat) = category(escape, active) {
        return Ok(ClassCode::Cat(cat));
    }
    if let Some(ch) = numeric_escape(src, escape)? {
        return Ok(ClassCode::Lit(ch));
    }
    let c = escape.chars().nth(1).unwrap_or('\0');
    if OCT.contains(c) {
        let mut e = escape.to_owned();
        e.push_str(&src.getwhile(2, OCT)?);
        let v = u32::from_str_radix(&e[1..], 8).unwrap_or(0);
        if v > 0o377 {
            return Err(src.error(
                format!("octal escape value {e} outside of range 0-0o377"),
                e.chars().count(),
            ));
        }
        return Ok(ClassCode::Lit(char::from_u32(v).unwrap_or('\0')));
    }
    if DIG.contains(c) || c.is_ascii_alphabetic() {
        return Err(src.error(format!("bad escape {escape}"), escape.chars().count()));
    }
    Ok(ClassCode::Lit(c))
}

/// `_escape`: an escape outside a class.
fn escape(src: &mut Tokenizer, st: &mut State, escape: &str, active: u32) -> Result<Item, PyError> {
    let atom = |text: String| Item {
        text,
        kind: Kind::Atom,
        width: (1, 1),
    };
    let at = |text: &str| Item {
        text: text.to_owned(),
        kind: Kind::At,
        width: (0, 0),
    };
    match escape {
        "\\A" => return Ok(at("\\A")),
        "\\Z" => return Ok(at("\\z")),
        "\\b" | "\\B" => return Ok(at(&word_boundary(st, escape == "\\b", active))),
        _ => {}
    }
    if let Some(cat) = category(escape, active) {
        // Python's categories ignore `(?i)`.
        let cat = if active & FLAG_I != 0 {
            format!("(?-i:{cat})")
        } else {
            cat
        };
        return Ok(atom(or_marked(st, cat, category_has_newline(escape))));
    }
    if let Some(ch) = escape_value(escape) {
        return Ok(atom(lit_atom(st, ch, active)));
    }
    if let Some(ch) = numeric_escape(src, escape)? {
        return Ok(atom(lit_atom(st, ch, active)));
    }
    let c = escape.chars().nth(1).unwrap_or('\0');
    if c == '0' {
        let mut e = escape.to_owned();
        e.push_str(&src.getwhile(2, OCT)?);
        let v = u32::from_str_radix(&e[1..], 8).unwrap_or(0);
        return Ok(atom(lit_atom(st, char::from_u32(v).unwrap_or('\0'), active)));
    }
    if DIG.contains(c) {
        let mut e = escape.to_owned();
        if src.next_in(DIG) {
            e.push_str(&src.get()?.unwrap_or_default());
            let b: Vec<char> = e.chars().collect();
            if OCT.contains(b[1]) && OCT.contains(b[2]) && src.next_in(OCT) {
                e.push_str(&src.get()?.unwrap_or_default());
                let v = u32::from_str_radix(&e[1..], 8).unwrap_or(0);
                if v > 0o377 {
                    return Err(src.error(
                        format!("octal escape value {e} outside of range 0-0o377"),
                        e.chars().count(),
                    ));
                }
                return Ok(atom(lit_atom(st, char::from_u32(v).unwrap_or('\0'), active)));
            }
        }
        let group: usize = e[1..].parse().unwrap_or(usize::MAX);
        if group < st.groups() {
            if !st.check_group(group) {
                return Err(src.error("cannot refer to an open group", e.chars().count()));
            }
            st.check_lookbehind_group(group, src)?;
            let w = st.widths[group].unwrap_or((0, MAXREPEAT));
            return Ok(Item {
                text: format!("(?:\\{group})"),
                kind: Kind::Atom,
                width: w,
            });
        }
        return Err(src.error(format!("invalid group reference {group}"), e.chars().count() - 1));
    }
    if c.is_ascii_alphabetic() {
        return Err(src.error(format!("bad escape {escape}"), escape.chars().count()));
    }
    Ok(atom(lit_atom(st, c, active)))
}

fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b).min(MAXREPEAT)
}

/// Deepest `nested` (calls of [`parse_sub`] and [`parse`] in progress, as
/// Python's `_parse_sub`/`_parse` frames) Vera 0.2.3 reaches: 491 groups
/// inside each other parse, 492 raise `RecursionError`, as do 491 groups
/// around a conditional (one frame per level). Beyond it the pattern is
/// refused before this translator's own recursion gets deep.
const MAX_NESTED: usize = 983;

const RECURSION: &str = "maximum recursion depth exceeded while calling a Python object";

/// `_parse`: a sequence of items.
fn parse(
    src: &mut Tokenizer,
    st: &mut State,
    mut verbose: bool,
    nested: usize,
    first: bool,
    flags: u32,
) -> Result<Item, PyError> {
    if nested > MAX_NESTED {
        return Err(PyError {
            msg: RECURSION.into(),
            pos: None,
            pattern: Vec::new(),
            trap: true,
        });
    }
    let mut items: Vec<Item> = Vec::new();
    while let Some(this) = src.next.clone() {
        if this == "|" || this == ")" {
            break;
        }
        src.get()?;
        let active = flags | st.flags;
        if verbose {
            if this.chars().count() == 1 && " \t\n\r\x0b\x0c".contains(this.as_str()) {
                continue;
            }
            if this == "#" {
                loop {
                    match src.get()? {
                        None => break,
                        Some(t) if t == "\n" => break,
                        _ => {}
                    }
                }
                continue;
            }
        }
        if this.starts_with('\\') {
            let item = escape(src, st, &this, active)?;
            items.push(item);
        } else if !".\\[{()*+?^$|".contains(this.as_str()) {
            let ch = this.chars().next().unwrap_or('\0');
            items.push(Item {
                text: lit_atom(st, ch, active),
                kind: Kind::Atom,
                width: (1, 1),
            });
        } else if this == "[" {
            let here = src.tell() - 1;
            let mut set: Vec<String> = Vec::new();
            let mut members: Vec<(char, char)> = Vec::new();
            let mut category_newline = false;
            let negate = src.matches("^")?;
            loop {
                let Some(this) = src.get()? else {
                    return Err(src.error("unterminated character set", src.tell() - here));
                };
                if this == "]" && !set.is_empty() {
                    break;
                }
                category_newline |= this.starts_with('\\') && category_has_newline(&this);
                let code1 = if this.starts_with('\\') {
                    class_escape(src, &this, active)?
                } else {
                    ClassCode::Lit(this.chars().next().unwrap_or('\0'))
                };
                if src.matches("-")? {
                    let Some(that) = src.get()? else {
                        return Err(src.error("unterminated character set", src.tell() - here));
                    };
                    if that == "]" {
                        set.push(match code1 {
                            ClassCode::Lit(c) => {
                                members.push((c, c));
                                lit(c)
                            }
                            ClassCode::Cat(c) => c,
                        });
                        set.push(lit('-'));
                        break;
                    }
                    let code2 = if that.starts_with('\\') {
                        class_escape(src, &that, active)?
                    } else {
                        ClassCode::Lit(that.chars().next().unwrap_or('\0'))
                    };
                    let bad = || {
                        src.error(
                            format!("bad character range {this}-{that}"),
                            this.chars().count() + 1 + that.chars().count(),
                        )
                    };
                    let (ClassCode::Lit(lo), ClassCode::Lit(hi)) = (code1, code2) else {
                        return Err(bad());
                    };
                    if hi < lo {
                        return Err(bad());
                    }
                    members.push((lo, hi));
                    set.push(format!("{}-{}", lit(lo), lit(hi)));
                } else {
                    set.push(match code1 {
                        ClassCode::Lit(c) => {
                            members.push((c, c));
                            lit(c)
                        }
                        ClassCode::Cat(c) => c,
                    });
                }
            }
            let neg = if negate { "^" } else { "" };
            items.push(Item {
                text: {
                    let has = category_newline || members.iter().any(|&(lo, hi)| (lo..=hi).contains(&'\n'));
                    let class = format!("[{neg}{}{}]", set.concat(), folded_members(&members, active));
                    or_marked(st, class, has != negate)
                },
                kind: Kind::Atom,
                width: (1, 1),
            });
        } else if "*+?{".contains(this.as_str()) {
            let here = src.tell();
            let (min, max);
            if this == "?" {
                (min, max) = (0, 1);
            } else if this == "*" {
                (min, max) = (0, MAXREPEAT);
            } else if this == "+" {
                (min, max) = (1, MAXREPEAT);
            } else {
                if src.is_next("}") {
                    items.push(Item {
                        text: lit('{'),
                        kind: Kind::Atom,
                        width: (1, 1),
                    });
                    continue;
                }
                let mut lo = String::new();
                let mut hi;
                while src.next_in(DIG) {
                    lo.push_str(&src.get()?.unwrap_or_default());
                }
                if src.matches(",")? {
                    hi = String::new();
                    while src.next_in(DIG) {
                        hi.push_str(&src.get()?.unwrap_or_default());
                    }
                } else {
                    hi = lo.clone();
                }
                if !src.matches("}")? {
                    items.push(Item {
                        text: lit('{'),
                        kind: Kind::Atom,
                        width: (1, 1),
                    });
                    src.seek(here)?;
                    continue;
                }
                let too_large = || src.error("the repetition number is too large", 0);
                let mn = if lo.is_empty() {
                    0
                } else {
                    lo.parse::<u64>()
                        .ok()
                        .filter(|&v| v < MAXREPEAT)
                        .ok_or_else(too_large)?
                };
                let mut mx = MAXREPEAT;
                if !hi.is_empty() {
                    mx = hi
                        .parse::<u64>()
                        .ok()
                        .filter(|&v| v < MAXREPEAT)
                        .ok_or_else(too_large)?;
                    if mx < mn {
                        return Err(src.error("min repeat greater than max repeat", src.tell() - here));
                    }
                }
                (min, max) = (mn, mx);
            }
            let back = src.tell() - here + this.chars().count();
            let Some(item) = items.pop() else {
                return Err(src.error("nothing to repeat", back));
            };
            match item.kind {
                Kind::At | Kind::Empty => return Err(src.error("nothing to repeat", back)),
                Kind::Repeat => return Err(src.error("multiple repeat", back)),
                Kind::Atom | Kind::Group => {}
            }
            let q = match (min, max) {
                (0, 1) => "?".to_owned(),
                (0, MAXREPEAT) => "*".to_owned(),
                (1, MAXREPEAT) => "+".to_owned(),
                (m, MAXREPEAT) => format!("{{{m},}}"),
                (m, n) => format!("{{{m},{n}}}"),
            };
            let width = (mul(item.width.0, min), mul(item.width.1, max));
            let (lazy, possessive) = (src.matches("?")?, !src.is_next("?") && src.matches("+")?);
            st.empty_iteration |= item.width.0 == 0 && item.width.1 > 0 && max > 1;
            let t = &item.text;
            // A repeat of what matches no text (`(?:\b)*`, `(?:(?<!a))+`)
            // is one the engine refuses; sre stops a repeat at its first
            // empty iteration, so it is that item at most once.
            let text = match (item.width == (0, 0), min > 0, lazy, possessive) {
                (true, true, _, _) => format!("(?:{t})"),
                (true, false, true, _) => format!("(?:|{t})"),
                (true, false, false, true) => format!("(?>{t}|)"),
                (true, false, false, false) => format!("(?:{t}|)"),
                // An empty lookahead makes the repeat one the backtracking
                // engine runs itself, with a counter, instead of handing
                // it to the linear engine to expand.
                (false, _, lazy, possessive)
                    if st.counters && !matches!((min, max), (0, 1) | (0, MAXREPEAT) | (1, MAXREPEAT)) =>
                {
                    let body = format!("(?:(?=){t}){q}{}", if lazy { "?" } else { "" });
                    if possessive {
                        format!("(?>{body})")
                    } else {
                        body
                    }
                }
                (false, _, true, _) => format!("(?:{t}){q}?"),
                (false, _, false, true) => format!("(?>(?:{t}){q})"),
                (false, _, false, false) => format!("(?:{t}){q}"),
            };
            items.push(Item {
                text,
                kind: Kind::Repeat,
                width,
            });
        } else if this == "." {
            let text = if active & FLAG_S != 0 {
                or_marked(st, "(?s:.)".to_owned(), true)
            } else {
                "[^\\n]".to_owned()
            };
            items.push(Item {
                text,
                kind: Kind::Atom,
                width: (1, 1),
            });
        } else if this == "(" {
            let start = src.tell() - 1;
            let mut capture = true;
            let mut atomic = false;
            let mut name: Option<String> = None;
            let (mut add, mut del) = (0u32, 0u32);
            if src.matches("?")? {
                let Some(ch) = src.get()? else {
                    return Err(src.error("unexpected end of pattern", 0));
                };
                if ch == "P" {
                    if src.matches("<")? {
                        let n = src.getuntil(">", "group name")?;
                        src.check_group_name(&n, 1)?;
                        name = Some(n);
                    } else if src.matches("=")? {
                        let n = src.getuntil(")", "group name")?;
                        src.check_group_name(&n, 1)?;
                        let off = n.chars().count() + 1;
                        let Some(gid) = st.names.iter().find(|(k, _)| *k == n).map(|e| e.1) else {
                            return Err(src.error(format!("unknown group name {}", py_repr(&n)), off));
                        };
                        if !st.check_group(gid) {
                            return Err(src.error("cannot refer to an open group", off));
                        }
                        st.check_lookbehind_group(gid, src)?;
                        items.push(Item {
                            text: format!("(?:\\{gid})"),
                            kind: Kind::Atom,
                            width: st.widths[gid].unwrap_or((0, MAXREPEAT)),
                        });
                        continue;
                    } else {
                        let Some(c2) = src.get()? else {
                            return Err(src.error("unexpected end of pattern", 0));
                        };
                        return Err(src.error(format!("unknown extension ?P{c2}"), c2.chars().count() + 2));
                    }
                } else if ch == ":" {
                    capture = false;
                } else if ch == "#" {
                    loop {
                        if src.next.is_none() {
                            return Err(src.error("missing ), unterminated comment", src.tell() - start));
                        }
                        if src.get()?.as_deref() == Some(")") {
                            break;
                        }
                    }
                    continue;
                } else if ch == "=" || ch == "!" || ch == "<" {
                    let mut kind = ch.clone();
                    let mut behind = false;
                    let mut saved_lb = None;
                    if ch == "<" {
                        let Some(c2) = src.get()? else {
                            return Err(src.error("unexpected end of pattern", 0));
                        };
                        if c2 != "=" && c2 != "!" {
                            return Err(src.error(format!("unknown extension ?<{c2}"), c2.chars().count() + 2));
                        }
                        kind = c2;
                        behind = true;
                        saved_lb = Some(st.lookbehind_groups);
                        if st.lookbehind_groups.is_none() {
                            st.lookbehind_groups = Some(st.groups());
                        }
                    }
                    let p = parse_sub(src, st, verbose, nested + 1, flags)?;
                    if let Some(saved) = saved_lb {
                        if saved.is_none() {
                            st.lookbehind_groups = None;
                        }
                        if p.width.0 != p.width.1 {
                            st.lookbehind_error = true;
                        }
                    }
                    if !src.matches(")")? {
                        return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
                    }
                    let open = match (behind, kind.as_str()) {
                        (false, "=") => "(?=",
                        (false, _) => "(?!",
                        (true, "=") => "(?<=",
                        (true, _) => "(?<!",
                    };
                    // sre refuses a repeat of an anchor but not of a
                    // lookaround (an ASSERT, not an AT).
                    items.push(Item {
                        text: format!("{open}{})", p.text),
                        kind: Kind::Group,
                        width: (0, 0),
                    });
                    continue;
                } else if ch == "(" {
                    let cond = src.getuntil(")", "group name")?;
                    let off = cond.chars().count() + 1;
                    let gid = if is_identifier(&cond) {
                        match st.names.iter().find(|(k, _)| *k == cond) {
                            Some(e) => e.1,
                            None => return Err(src.error(format!("unknown group name {}", py_repr(&cond)), off)),
                        }
                    } else {
                        let g: usize = cond
                            .parse()
                            .ok()
                            .filter(|_| cond.chars().all(|c| c.is_ascii_digit()))
                            .ok_or_else(|| src.error(format!("bad character in group name {}", py_repr(&cond)), off))?;
                        if g == 0 {
                            return Err(src.error("bad group number", off));
                        }
                        if g >= MAXGROUPS {
                            return Err(src.error(format!("invalid group reference {g}"), off));
                        }
                        g
                    };
                    st.check_lookbehind_group(gid, src)?;
                    let yes = parse(src, st, verbose, nested + 1, false, flags)?;
                    let no = if src.matches("|")? {
                        let no = parse(src, st, verbose, nested + 1, false, flags)?;
                        if src.is_next("|") {
                            return Err(src.error("conditional backref with more than two branches", 0));
                        }
                        Some(no)
                    } else {
                        None
                    };
                    if !src.matches(")")? {
                        return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
                    }
                    if gid >= st.groups() {
                        // Python checks this at compile time.
                        return Err(PyError {
                            msg: format!("invalid group reference {gid}"),
                            pos: Some(start + 3),
                            pattern: src.s.clone(),
                            trap: false,
                        });
                    }
                    let (nw, nt) = no.map_or(((0, 0), String::new()), |n| (n.width, n.text));
                    items.push(Item {
                        text: format!("(?({gid}){}|{nt})", yes.text),
                        kind: Kind::Group,
                        width: (yes.width.0.min(nw.0), yes.width.1.max(nw.1)),
                    });
                    continue;
                } else if ch == ">" {
                    capture = false;
                    atomic = true;
                } else if flag_of(&ch).is_some() || ch == "-" {
                    match parse_flags(src, st, &ch)? {
                        None => {
                            if !first || !items.is_empty() {
                                return Err(
                                    src.error("global flags not at the start of the expression", src.tell() - start)
                                );
                            }
                            verbose = st.flags & FLAG_X != 0;
                            continue;
                        }
                        Some((a, d)) => {
                            add = a;
                            del = d;
                            capture = false;
                        }
                    }
                } else {
                    return Err(src.error(format!("unknown extension ?{ch}"), ch.chars().count() + 1));
                }
            }
            let group = if capture {
                let gid = st.groups();
                st.widths.push(None);
                if st.groups() > MAXGROUPS {
                    return Err(src.error("too many groups", 0));
                }
                if let Some(n) = &name {
                    if let Some(og) = st.names.iter().find(|(k, _)| k == n).map(|e| e.1) {
                        return Err(src.error(
                            format!(
                                "redefinition of group name {} as group {gid}; was group {og}",
                                py_repr(n)
                            ),
                            n.chars().count() + 1,
                        ));
                    }
                    st.names.push((n.clone(), gid));
                }
                Some(gid)
            } else {
                None
            };
            let sub_verbose = (verbose || add & FLAG_X != 0) && del & FLAG_X == 0;
            let inner_flags = (flags | add) & !del;
            let p = parse_sub(src, st, sub_verbose, nested + 1, inner_flags)?;
            if !src.matches(")")? {
                return Err(src.error("missing ), unterminated subpattern", src.tell() - start));
            }
            if let Some(gid) = group {
                st.widths[gid] = Some(p.width);
            }
            // The engine folds case where Python's Unicode `(?i)` is on;
            // under `(?a)` the translation folds ASCII letters itself.
            let engine_i = |f: u32| f & FLAG_I != 0 && f & FLAG_A == 0;
            let (outer, inner) = (engine_i(active), engine_i((active | add) & !del));
            let fl = match (outer, inner) {
                (false, true) => "i",
                (true, false) => "-i",
                _ => "",
            };
            let text = if group.is_some() {
                format!("({})", p.text)
            } else if atomic {
                format!("(?>{})", p.text)
            } else {
                format!("(?{fl}:{})", p.text)
            };
            let kind = Kind::Group;
            items.push(Item {
                text,
                kind,
                width: p.width,
            });
        } else if this == "^" {
            st.multiline_anchor |= active & FLAG_M != 0;
            let text = if active & FLAG_M != 0 { "(?m:^)" } else { "\\A" };
            items.push(Item {
                text: text.to_owned(),
                kind: Kind::At,
                width: (0, 0),
            });
        } else if this == "$" {
            st.multiline_anchor |= active & FLAG_M != 0;
            let text = if active & FLAG_M != 0 {
                "(?m:$)"
            } else {
                st.uses_dollar = true;
                match st.dialect.dollar {
                    Dollar::Any => "(?=\\n?\\z)",
                    Dollar::NoFinalNewline => "\\z",
                    Dollar::OnlyFinalNewline | Dollar::Marked => "(?m:$)",
                }
            };
            items.push(Item {
                text: text.to_owned(),
                kind: Kind::At,
                width: (0, 0),
            });
        }
    }
    let kind = match items.len() {
        0 => Kind::Empty,
        1 => items[0].kind,
        _ => items.last().map_or(Kind::Group, |i| i.kind),
    };
    let lo = items
        .iter()
        .fold(0u64, |a, i| a.saturating_add(i.width.0).min(MAXREPEAT));
    let hi = items
        .iter()
        .fold(0u64, |a, i| a.saturating_add(i.width.1).min(MAXREPEAT));
    Ok(Item {
        text: items.iter().map(|i| i.text.as_str()).collect(),
        kind,
        width: (lo, hi),
    })
}

/// `_parse_flags`: `None` for global flags `(?i)`, else the scoped
/// `(add, del)` of `(?i-s:...)`.
fn parse_flags(src: &mut Tokenizer, st: &mut State, ch: &str) -> Result<Option<(u32, u32)>, PyError> {
    let mut ch = ch.to_owned();
    let (mut add, mut del) = (0u32, 0u32);
    let type_flags = FLAG_A | FLAG_L | FLAG_U;
    if ch != "-" {
        loop {
            let flag = flag_of(&ch).unwrap_or(0);
            if ch == "L" {
                return Err(src.error("bad inline flags: cannot use 'L' flag with a str pattern", 0));
            }
            add |= flag;
            if flag & type_flags != 0 && add & type_flags != flag {
                return Err(src.error("bad inline flags: flags 'a', 'u' and 'L' are incompatible", 0));
            }
            let Some(c) = src.get()? else {
                return Err(src.error("missing -, : or )", 0));
            };
            ch = c;
            if ch == ")" || ch == "-" || ch == ":" {
                break;
            }
            if flag_of(&ch).is_none() {
                let alpha = ch.chars().all(char::is_alphabetic);
                let msg = if alpha { "unknown flag" } else { "missing -, : or )" };
                return Err(src.error(msg, ch.chars().count()));
            }
        }
    }
    if ch == ")" {
        st.flags |= add;
        return Ok(None);
    }
    let global = 1 | FLAG_L;
    if add & global != 0 {
        return Err(src.error("bad inline flags: cannot turn on global flag", 1));
    }
    if ch == "-" {
        let Some(c) = src.get()? else {
            return Err(src.error("missing flag", 0));
        };
        ch = c;
        if flag_of(&ch).is_none() {
            let alpha = ch.chars().all(char::is_alphabetic);
            return Err(src.error(if alpha { "unknown flag" } else { "missing flag" }, ch.chars().count()));
        }
        loop {
            let flag = flag_of(&ch).unwrap_or(0);
            if flag & type_flags != 0 {
                return Err(src.error("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", 0));
            }
            del |= flag;
            let Some(c) = src.get()? else {
                return Err(src.error("missing :", 0));
            };
            ch = c;
            if ch == ":" {
                break;
            }
            if flag_of(&ch).is_none() {
                let alpha = ch.chars().all(char::is_alphabetic);
                return Err(src.error(if alpha { "unknown flag" } else { "missing :" }, ch.chars().count()));
            }
        }
    }
    if del & global != 0 {
        return Err(src.error("bad inline flags: cannot turn off global flag", 1));
    }
    if add & del != 0 {
        return Err(src.error("bad inline flags: flag turned on and off", 1));
    }
    Ok(Some((add, del)))
}

/// A piece of a parsed replacement template.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Lit(String),
    Group(usize),
}

#[derive(Debug)]
pub enum TemplateError {
    /// A `re.error`.
    Re(PyError),
    /// Python's `IndexError("unknown group name 'x'")`.
    UnknownName(String),
}

/// Python's `parse_template`: `\1`, `\g<n>`, `\g<name>`, octal and the
/// standard escapes; other ASCII-letter escapes are errors, any other
/// escaped character stays as written (backslash included).
pub fn parse_template(repl: &str, groups: usize, names: &[(String, usize)]) -> Result<Vec<Piece>, TemplateError> {
    let re = TemplateError::Re;
    let mut s = Tokenizer::new(repl).map_err(re)?;
    let mut out: Vec<Piece> = Vec::new();
    let mut literal = String::new();
    let add_group = |s: &Tokenizer, index: usize, off: usize| -> Result<usize, TemplateError> {
        if index > groups {
            return Err(TemplateError::Re(
                s.error(format!("invalid group reference {index}"), off),
            ));
        }
        Ok(index)
    };
    while let Some(this) = s.get().map_err(re)? {
        let mut chars = this.chars();
        if chars.next() != Some('\\') {
            literal.push_str(&this);
            continue;
        }
        let c = chars.next().unwrap_or('\0');
        let mut group = None;
        if c == 'g' {
            if !s.matches("<").map_err(re)? {
                return Err(re(s.error("missing <", 0)));
            }
            let name = s.getuntil(">", "group name").map_err(re)?;
            let off = name.chars().count() + 1;
            let index = if is_identifier(&name) {
                match names.iter().find(|(k, _)| *k == name) {
                    Some(e) => e.1,
                    None => return Err(TemplateError::UnknownName(name)),
                }
            } else {
                let bad = || re(s.error(format!("bad character in group name {}", py_repr(&name)), off));
                let digits: String = name
                    .chars()
                    .filter_map(|c| c.to_digit(10))
                    .map(|d| (b'0' + d as u8) as char)
                    .collect();
                if digits.chars().count() != name.trim().chars().count() || digits.is_empty() {
                    return Err(bad());
                }
                match digits.parse::<usize>() {
                    Ok(v) if v < MAXGROUPS => v,
                    Ok(v) => return Err(re(s.error(format!("invalid group reference {v}"), off))),
                    Err(_) => return Err(re(s.error(format!("invalid group reference {digits}"), off))),
                }
            };
            group = Some(add_group(&s, index, off)?);
        } else if c == '0' {
            let mut e = this.clone();
            if s.next_in(OCT) {
                e.push_str(&s.get().map_err(re)?.unwrap_or_default());
                if s.next_in(OCT) {
                    e.push_str(&s.get().map_err(re)?.unwrap_or_default());
                }
            }
            let v = u32::from_str_radix(&e[1..], 8).unwrap_or(0) & 0xff;
            literal.push(char::from_u32(v).unwrap_or('\0'));
        } else if c.is_ascii_digit() {
            let mut e = this.clone();
            let mut octal = false;
            if s.next_in(DIG) {
                e.push_str(&s.get().map_err(re)?.unwrap_or_default());
                let b: Vec<char> = e.chars().collect();
                if OCT.contains(c) && OCT.contains(b[2]) && s.next_in(OCT) {
                    e.push_str(&s.get().map_err(re)?.unwrap_or_default());
                    octal = true;
                    let v = u32::from_str_radix(&e[1..], 8).unwrap_or(0);
                    if v > 0o377 {
                        return Err(re(s.error(
                            format!("octal escape value {e} outside of range 0-0o377"),
                            e.chars().count(),
                        )));
                    }
                    literal.push(char::from_u32(v).unwrap_or('\0'));
                }
            }
            if !octal {
                let index: usize = e[1..].parse().unwrap_or(usize::MAX);
                group = Some(add_group(&s, index, e.chars().count() - 1)?);
            }
        } else if let Some(ch) = escape_value(&this) {
            literal.push(ch);
        } else if c.is_ascii_alphabetic() {
            return Err(re(s.error(format!("bad escape {this}"), this.chars().count())));
        } else {
            literal.push_str(&this);
        }
        if let Some(g) = group {
            if !literal.is_empty() {
                out.push(Piece::Lit(std::mem::take(&mut literal)));
            }
            out.push(Piece::Group(g));
        }
    }
    if !literal.is_empty() {
        out.push(Piece::Lit(literal));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: &str) -> String {
        match PyRegex::compile(p) {
            Err(e) => e,
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn python_errors_with_positions() {
        assert_eq!(
            err("("),
            "invalid regex: missing ), unterminated subpattern at position 0"
        );
        assert_eq!(err(")"), "invalid regex: unbalanced parenthesis at position 0");
        assert_eq!(err("[z-a]"), "invalid regex: bad character range z-a at position 1");
        assert_eq!(
            err("a{2,1}"),
            "invalid regex: min repeat greater than max repeat at position 2"
        );
        assert_eq!(err("a**"), "invalid regex: multiple repeat at position 2");
        assert_eq!(err("\\"), "invalid regex: bad escape (end of pattern) at position 0");
        assert_eq!(
            err("(?<=a+)b"),
            "invalid regex: look-behind requires fixed-width pattern"
        );
        assert_eq!(
            err("a\n("),
            "invalid regex: missing ), unterminated subpattern at position 2 (line 2, column 1)"
        );
        assert_eq!(err("(?<=ab|cd)x"), "ok");
    }

    #[test]
    fn dollar_matches_before_final_newline_only() {
        let re = PyRegex::compile("^hello$").unwrap();
        assert!(re.search("hello\n", 0).unwrap().is_some());
        assert!(re.search("hello\n\n", 0).unwrap().is_none());
        let re = PyRegex::compile("a$").unwrap();
        assert_eq!(re.search("a\na\n", 0).unwrap(), Some((2, 3)));
    }

    #[test]
    fn classes_keep_python_literals() {
        let re = PyRegex::compile("[[&&-]+").unwrap();
        assert_eq!(re.search("x[&-&y", 0).unwrap(), Some((1, 5)));
        let re = PyRegex::compile("[]a]+").unwrap();
        assert_eq!(re.search("b]a]", 0).unwrap(), Some((1, 4)));
    }

    #[test]
    fn templates() {
        let re = PyRegex::compile("(\\d+)-(\\d+)").unwrap();
        assert_eq!(re.replace_first("1-2 3-4", "\\2+\\1\\n\\.").unwrap(), "2+1\n\\. 3-4");
        assert_eq!(
            re.replace_first("x", "\\g<zz>").unwrap_err(),
            "invalid regex: unknown group name 'zz'"
        );
        assert_eq!(
            re.replace_first("x", "\\3").unwrap_err(),
            "invalid regex: invalid group reference 3 at position 1"
        );
    }

    #[test]
    fn find_all_empty_matches_as_python() {
        let re = PyRegex::compile("[^,]*").unwrap();
        let text = "a,b,,c,";
        let got: Vec<&str> = re
            .find_all(text)
            .unwrap()
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(got, ["a", "", "b", "", "", "c", "", ""]);
    }

    #[test]
    fn nesting_beyond_python_recursion_limit_traps() {
        let nest = |open: &str, n: usize| format!("{}{}", open.repeat(n), ")".repeat(n));
        assert!(translate(&nest("(", 491)).is_ok());
        assert!(translate(&nest("(?:", 491)).is_ok());
        for n in [492, 10_000, 1_000_000] {
            let e = translate(&nest("(", n)).err().unwrap();
            assert!(e.trap && e.msg == RECURSION, "{n}: {e:?}");
        }
        let cond = |n: usize| format!("(){}(?(1)a){}", "(?:".repeat(n), ")".repeat(n));
        assert!(translate(&cond(490)).is_ok());
        assert!(translate(&cond(491)).err().unwrap().trap);
        // An unbalanced pattern is still Python's re.error.
        assert!(!translate(&"(".repeat(100)).err().unwrap().trap);
    }

    #[test]
    fn match_at_is_anchored() {
        let re = PyRegex::compile(r"(?<=\s)(a+)").unwrap();
        assert_eq!(re.match_at("x aa", 2), Some(vec![Some((2, 4)), Some((2, 4))]));
        assert_eq!(re.match_at("x aa", 1), None);
        assert_eq!(re.match_at("xaa a", 1), None);
        let empty = PyRegex::compile("b*").unwrap();
        assert_eq!(empty.match_at("abb", 0), Some(vec![Some((0, 0))]));
        assert_eq!(empty.match_start("bbx"), Some(vec!["bb".to_owned()]));
    }
}

#[cfg(test)]
mod python_semantics {
    use super::*;

    fn run(op: Op, input: &str, pattern: &str) -> Result<Answer, String> {
        answer(op, input, pattern, "", Meter::unbounded()).unwrap()
    }

    #[test]
    fn dollar_takes_the_engine_anchor_where_the_subject_allows() {
        assert_eq!(Dialect::of("ab").dollar, Dollar::NoFinalNewline);
        assert_eq!(Dialect::of("ab\n").dollar, Dollar::OnlyFinalNewline);
        assert_eq!(Dialect::of("a\nb\n").dollar, Dollar::Marked);
        for (text, want) in [
            ("a\n", true),
            ("a\n\n", false),
            ("a", true),
            ("a\nb", false),
            ("a\nb\n", false),
        ] {
            assert_eq!(run(Op::Match, text, "a$"), Ok(Answer::Match(want)), "{text:?}");
        }
        // A final newline after others: the marked search, which the
        // pattern's own newlines also match.
        let lines = format!("{}\nb\n", "a".repeat(1 << 20));
        assert_eq!(run(Op::Match, &lines, "^a+$"), Ok(Answer::Match(false)));
        assert_eq!(run(Op::Find, &lines, "b$"), Ok(Answer::Find(Some("b".into()))));
        assert_eq!(run(Op::Find, &lines, "b\n$"), Ok(Answer::Find(Some("b\n".into()))));
        assert_eq!(run(Op::Find, &lines, r"b\s$"), Ok(Answer::Find(Some("b\n".into()))));
        assert_eq!(run(Op::Find, &lines, "(?s)b.$"), Ok(Answer::Find(Some("b\n".into()))));
        assert_eq!(run(Op::Find, &lines, "b[^x]$"), Ok(Answer::Find(Some("b\n".into()))));
        assert_eq!(run(Op::Find, &lines, "b[^\n]$"), Ok(Answer::Find(None)));
        assert_eq!(run(Op::Match, "x\né\n", "é$"), Ok(Answer::Match(true)));
        assert_eq!(
            run(Op::FindAll, "a \nb \n", r"\s+$"),
            Ok(Answer::FindAll(vec![" \n".to_owned()]))
        );
        // The whole pattern stays with the linear engine: no backtracking limit.
        let long = format!("{}b", "a".repeat(100_000));
        assert_eq!(run(Op::Match, &long, "a*$"), Ok(Answer::Match(true)));
        assert_eq!(run(Op::Find, &long, "a*$"), Ok(Answer::Find(Some(String::new()))));
    }

    #[test]
    fn a_translation_the_subject_does_not_change_is_shared() {
        let t = translate_in("a+", Dialect::of("ab\n")).unwrap();
        assert_eq!(t.dialect, Dialect::ANY);
        let t = translate_in("a$", Dialect::of("ab\n")).unwrap();
        assert_eq!(t.dialect.dollar, Dollar::OnlyFinalNewline);
        assert!(!t.dialect.ascii_text);
    }

    #[test]
    fn nesting_and_counted_repeats_python_takes() {
        let nest = |n: usize| format!("{}b{}", "(".repeat(n), ")".repeat(n));
        for n in [64, 200, 491] {
            assert_eq!(run(Op::Match, "b", &nest(n)), Ok(Answer::Match(true)), "{n} groups");
        }
        assert_eq!(
            run(Op::Match, "aab", "(?:a{0,65535}){0,65535}b"),
            Ok(Answer::Match(true))
        );
        assert_eq!(
            run(Op::Find, "xaaab", "(?:a{0,3}){2,5}?b"),
            Ok(Answer::Find(Some("aaab".into())))
        );
    }

    #[test]
    fn searching_by_alternatives_finds_what_the_whole_pattern_does() {
        let texts = [
            "ab ".repeat(120),
            "aaab_x \n".repeat(40),
            format!("{}b{}", "a".repeat(300), "ba".repeat(20)),
            "Iı İi q qq\n".repeat(30),
        ];
        let patterns = [
            "a*b|a",
            "b|a*",
            r"\w+|\s",
            "x?|a",
            "(?i)i|b+",
            "$|a",
            r"\bq|q",
            "(a)|(b)|c*",
            "ab|a|b",
        ];
        for pattern in patterns {
            let re = PyRegex::compile(pattern).unwrap();
            for text in &texts {
                let mut meter = Meter::unbounded();
                let by = re.find_all_by(text, &mut meter, true).unwrap();
                let whole = re.find_all_by(text, &mut meter, false).unwrap();
                assert_eq!(by, whole, "{pattern:?} on {text:?}");
            }
        }
        // Linear: the alternative that never matches is searched once.
        let re = PyRegex::compile("a*b|a").unwrap();
        let start = std::time::Instant::now();
        assert_eq!(re.find_all(&"a".repeat(100_000)).unwrap().len(), 100_000);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }
}
