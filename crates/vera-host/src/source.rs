//! What a program's Vera source says about its functions, read the way
//! Vera's compiler reads it for `vera run`: each function's parameter
//! types as they lower to WebAssembly (what command-line arguments are
//! parsed as, with `@Nat` and `@Byte` range-checked), whether it returns a
//! String (its value printed as text), whether it is public, and the lines
//! its declaration spans (a trap's source backtrace, `file:start-end`).
//!
//! Only declarations are read: the signature of each `fn` (top level and
//! `where` helpers), `type` aliases and `data` names (for what a parameter
//! type resolves to); bodies and contracts are skipped by bracket
//! matching. The spans are the compiler's `FnDecl` spans: from `forall` or
//! `fn` to the closing brace of the body, or of the `where` block.

use std::collections::{HashMap, HashSet};

/// A parameter as it lowers to WebAssembly (`vera run`'s `fn_param_types`,
/// `fn_param_nat` and `fn_param_byte`). Unit parameters lower to nothing
/// and are left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `@Int`: an i64 holding the i64 range.
    Int,
    /// `@Nat`: an i64 holding 0 .. 2^63 - 1.
    Nat,
    /// `@Float64`.
    Float,
    /// `@Byte`: an i32 holding 0 .. 255.
    Byte,
    /// `@Bool`, or any one-word heap value (ADT, Map, Set, Decimal,
    /// closure): an i32, `true`/`false` or an integer.
    Word,
    /// `@String` or `@Array<T>`: an i32 pair, given as text.
    Pair,
}

impl Param {
    /// The wasm type name `vera run` puts in its argument errors.
    pub fn wasm_name(self) -> &'static str {
        match self {
            Param::Int | Param::Nat => "i64",
            Param::Float => "f64",
            Param::Byte | Param::Word => "i32",
            Param::Pair => "i32_pair",
        }
    }
}

/// One function declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFn {
    pub name: String,
    /// Declared `public` (a `where` helper never is).
    pub public: bool,
    /// A top-level declaration (not a `where` helper).
    pub top_level: bool,
    /// Declared with `forall<...>`.
    pub generic: bool,
    pub params: Vec<Param>,
    /// The return type resolves to `String`.
    pub returns_string: bool,
    /// First and last line of the declaration (1-based).
    pub line_start: u32,
    pub line_end: u32,
}

/// The functions of one source file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    /// The path as the user spelled it (what a backtrace shows).
    pub path: String,
    /// Every function declaration, in source order (a `where` helper after
    /// its parent).
    pub functions: Vec<SourceFn>,
}

impl SourceInfo {
    /// Reads the declarations of `text`, the contents of `path`.
    pub fn parse(path: &str, text: &str) -> SourceInfo {
        let tokens = lex(text);
        let mut parser = Parser {
            toks: &tokens,
            i: 0,
            aliases: HashMap::new(),
            adts: HashSet::new(),
            decls: Vec::new(),
        };
        let mut raw = parser.program();
        parser.i = 0;
        let decls = std::mem::take(&mut parser.decls);
        raw.extend(parser.anonymous_functions(&decls));
        let functions = raw
            .into_iter()
            .map(|f| SourceFn {
                params: f.params.iter().filter_map(|t| parser.lower(t, 0)).collect(),
                returns_string: parser.is_string(&f.ret, 0),
                name: f.name,
                public: f.public,
                top_level: f.top_level,
                generic: f.generic,
                line_start: f.line_start,
                line_end: f.line_end,
            })
            .collect();
        SourceInfo {
            path: path.to_owned(),
            functions,
        }
    }

    /// The top-level declaration named `name`.
    pub fn function(&self, name: &str) -> Option<&SourceFn> {
        self.functions.iter().find(|f| f.top_level && f.name == name)
    }

    /// The declaration a wasm function is compiled from, as `vera run`'s
    /// source map finds it: its name, else (a monomorphized clone,
    /// `identity$Int`) the part before the last `$`.
    pub fn locate(&self, wasm_name: &str) -> Option<&SourceFn> {
        let find = |n: &str| self.functions.iter().find(|f| f.name == n);
        find(wasm_name).or_else(|| wasm_name.rsplit_once('$').and_then(|(base, _)| find(base)))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    Arrow,
    Other,
}

struct Token {
    tok: Tok,
    line: u32,
}

/// Vera's tokens, as far as declarations need them: identifiers,
/// punctuation and `->`; strings and numbers as opaque tokens; `--` line
/// comments and nestable `/* */` block comments skipped.
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = line;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Token {
                tok: Tok::Other,
                line: start,
            });
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = if c.is_ascii_digit() {
                Tok::Other
            } else {
                Tok::Ident(word)
            };
            out.push(Token { tok, line });
        } else if c == '-' && next == Some('>') {
            out.push(Token { tok: Tok::Arrow, line });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug)]
enum TypeExpr {
    Named(String, Vec<TypeExpr>),
    /// `{ @T | ... }`: its base type.
    Refined(Box<TypeExpr>),
    /// `fn(...) effects(...)`: a closure pointer.
    Fn,
}

struct RawFn {
    name: String,
    public: bool,
    top_level: bool,
    generic: bool,
    params: Vec<TypeExpr>,
    ret: TypeExpr,
    line_start: u32,
    line_end: u32,
}

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    aliases: HashMap<String, TypeExpr>,
    adts: HashSet<String>,
    /// The token range of each top-level function declaration.
    decls: Vec<(usize, usize)>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        let toks: &'a [Token] = self.toks;
        toks.get(self.i).map(|t| &t.tok)
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w == word)
    }

    fn line(&self) -> u32 {
        self.toks.get(self.i).or(self.toks.last()).map_or(1, |t| t.line)
    }

    fn ident(&mut self) -> Option<String> {
        match self.peek() {
            Some(Tok::Ident(w)) => {
                let w = w.clone();
                self.i += 1;
                Some(w)
            }
            _ => None,
        }
    }

    /// Skips from an opening `open` to just past its matching `close`;
    /// returns the line of the closing one.
    fn skip_group(&mut self, open: char, close: char) -> u32 {
        let mut depth = 0usize;
        while let Some(tok) = self.peek() {
            let line = self.line();
            self.i += 1;
            if *tok == Tok::Punct(open) {
                depth += 1;
            } else if *tok == Tok::Punct(close) {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return line;
                }
            }
        }
        self.line()
    }

    fn program(&mut self) -> Vec<RawFn> {
        let mut fns = Vec::new();
        let mut public = false;
        while let Some(tok) = self.peek() {
            match tok {
                Tok::Ident(w) if w == "public" => {
                    public = true;
                    self.i += 1;
                }
                Tok::Ident(w) if w == "private" => {
                    public = false;
                    self.i += 1;
                }
                Tok::Ident(w) if w == "fn" || w == "forall" => {
                    let first = self.i;
                    self.function(public, None, &mut fns);
                    self.decls.push((first, self.i.max(first + 1) - 1));
                    public = false;
                }
                Tok::Ident(w) if w == "type" => {
                    self.i += 1;
                    let name = self.ident();
                    if self.is_punct('<') {
                        self.skip_group('<', '>');
                    }
                    if self.is_punct('=') {
                        self.i += 1;
                        let body = self.type_expr();
                        if let Some(name) = name {
                            self.aliases.insert(name, body);
                        }
                    }
                    public = false;
                }
                Tok::Ident(w) if w == "data" || w == "effect" || w == "ability" => {
                    let data = w == "data";
                    self.i += 1;
                    if let (Some(name), true) = (self.ident(), data) {
                        self.adts.insert(name);
                    }
                    self.skip_to_brace();
                    self.skip_group('{', '}');
                    public = false;
                }
                _ => self.i += 1,
            }
        }
        fns
    }

    /// Every anonymous function (`fn(@T -> @U) effects(...) { ... }`, told
    /// from a function type by its body), named `anon_N` as the compiler
    /// names them: declaration by declaration, a function's own lambdas in
    /// source order, then the lambdas inside those (breadth first).
    fn anonymous_functions(&mut self, decls: &[(usize, usize)]) -> Vec<RawFn> {
        // (first token, body's closing token, first line, last line, parent).
        let mut found: Vec<(usize, usize, u32, u32, Option<usize>)> = Vec::new();
        while self.i < self.toks.len() {
            let at = self.i;
            self.i += 1;
            if !(self.toks[at].tok == Tok::Ident("fn".into()) && self.is_punct('(')) {
                continue;
            }
            self.skip_group('(', ')');
            if self.is_ident("effects") {
                self.i += 1;
                if self.is_punct('(') {
                    self.skip_group('(', ')');
                }
            }
            if !self.is_punct('{') {
                continue;
            }
            let body = self.i;
            let line_end = self.skip_group('{', '}');
            let close = self.i - 1;
            let parent = found.iter().rposition(|l| l.0 < at && close <= l.1);
            found.push((at, close, self.toks[at].line, line_end, parent));
            // Back into the body: lambdas nest.
            self.i = body + 1;
        }
        let mut order = Vec::new();
        for &(first, last) in decls {
            let mut queue: std::collections::VecDeque<usize> = (0..found.len())
                .filter(|&k| found[k].4.is_none() && first <= found[k].0 && found[k].1 <= last)
                .collect();
            while let Some(k) = queue.pop_front() {
                order.push(k);
                queue.extend((0..found.len()).filter(|&c| found[c].4 == Some(k)));
            }
        }
        order
            .into_iter()
            .enumerate()
            .map(|(n, k)| RawFn {
                name: format!("anon_{n}"),
                public: false,
                top_level: false,
                generic: false,
                params: Vec::new(),
                ret: TypeExpr::Fn,
                line_start: found[k].2,
                line_end: found[k].3,
            })
            .collect()
    }

    /// Advances to the next `{` outside parentheses.
    fn skip_to_brace(&mut self) {
        let mut depth = 0usize;
        while let Some(tok) = self.peek() {
            match tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth = depth.saturating_sub(1),
                Tok::Punct('{') if depth == 0 => return,
                _ => {}
            }
            self.i += 1;
        }
    }

    /// One `fn_decl` (and its `where` helpers) at `forall` or `fn`.
    fn function(&mut self, public: bool, parent: Option<&str>, out: &mut Vec<RawFn>) {
        let top_level = parent.is_none();
        let line_start = self.line();
        let generic = self.is_ident("forall");
        if generic {
            self.i += 1;
            self.skip_group('<', '>');
        }
        if !self.is_ident("fn") {
            return;
        }
        self.i += 1;
        let Some(mut name) = self.ident() else { return };
        if let Some(parent) = parent {
            name = format!("{parent}$where${name}");
        }
        let mut params = Vec::new();
        let mut ret = TypeExpr::Named("Unit".into(), vec![]);
        if self.is_punct('(') {
            self.i += 1;
            while let Some(tok) = self.peek() {
                match tok {
                    Tok::Arrow => {
                        self.i += 1;
                        if self.is_punct('@') {
                            self.i += 1;
                        }
                        ret = self.type_expr();
                        break;
                    }
                    Tok::Punct('@') => {
                        self.i += 1;
                        params.push(self.type_expr());
                    }
                    Tok::Punct(')') => break,
                    _ => self.i += 1,
                }
            }
        }
        self.skip_to_brace();
        let mut line_end = self.skip_group('{', '}');
        let index = out.len();
        let own_name = name.clone();
        out.push(RawFn {
            name,
            public,
            top_level,
            generic,
            params,
            ret,
            line_start,
            line_end,
        });
        if self.is_ident("where") {
            self.i += 1;
            if self.is_punct('{') {
                self.i += 1;
                while let Some(tok) = self.peek() {
                    match tok {
                        Tok::Punct('}') => {
                            line_end = self.line();
                            self.i += 1;
                            break;
                        }
                        Tok::Ident(w) if w == "fn" || w == "forall" => self.function(false, Some(&own_name), out),
                        _ => self.i += 1,
                    }
                }
                out[index].line_end = line_end;
            }
        }
    }

    fn type_expr(&mut self) -> TypeExpr {
        match self.peek() {
            Some(Tok::Punct('{')) => {
                let start = self.i;
                self.i += 1;
                if self.is_punct('@') {
                    self.i += 1;
                }
                let base = self.type_expr();
                self.i = start;
                self.skip_group('{', '}');
                TypeExpr::Refined(Box::new(base))
            }
            Some(Tok::Ident(w)) if w == "fn" => {
                self.i += 1;
                if self.is_punct('(') {
                    self.skip_group('(', ')');
                }
                if self.is_ident("effects") {
                    self.i += 1;
                    if self.is_punct('(') {
                        self.skip_group('(', ')');
                    }
                }
                TypeExpr::Fn
            }
            Some(Tok::Ident(_)) => {
                let name = self.ident().unwrap_or_default();
                let mut args = Vec::new();
                if self.is_punct('<') {
                    self.i += 1;
                    while self.peek().is_some() && !self.is_punct('>') {
                        if self.is_punct(',') {
                            self.i += 1;
                            continue;
                        }
                        let before = self.i;
                        args.push(self.type_expr());
                        if self.i == before {
                            self.i += 1;
                        }
                    }
                    self.i += 1;
                }
                TypeExpr::Named(name, args)
            }
            _ => TypeExpr::Named(String::new(), vec![]),
        }
    }

    /// What a parameter type lowers to (`None`: Unit, no parameter), in
    /// the compiler's order: primitives, aliases, declared data types, then
    /// the built-in containers.
    fn lower(&self, t: &TypeExpr, depth: usize) -> Option<Param> {
        match t {
            TypeExpr::Refined(base) => self.lower(base, depth),
            TypeExpr::Fn => Some(Param::Word),
            TypeExpr::Named(name, args) => match name.as_str() {
                "Int" => Some(Param::Int),
                "Nat" => Some(Param::Nat),
                "Float64" => Some(Param::Float),
                "Bool" => Some(Param::Word),
                "Byte" => Some(Param::Byte),
                "Unit" => None,
                "String" => Some(Param::Pair),
                _ if depth < 32 && self.aliases.contains_key(name) => self.lower(&self.aliases[name], depth + 1),
                _ if self.adts.contains(name) => Some(Param::Word),
                "Array" => Some(Param::Pair),
                "Future" if args.len() == 1 => self.lower(&args[0], depth + 1),
                _ => Some(Param::Word),
            },
        }
    }

    fn is_string(&self, t: &TypeExpr, depth: usize) -> bool {
        match t {
            TypeExpr::Refined(base) => self.is_string(base, depth),
            TypeExpr::Fn => false,
            TypeExpr::Named(name, args) => match name.as_str() {
                "String" => true,
                "Int" | "Nat" | "Float64" | "Bool" | "Byte" | "Unit" | "Never" => false,
                _ if depth < 32 && self.aliases.contains_key(name) => self.is_string(&self.aliases[name], depth + 1),
                _ if self.adts.contains(name) => false,
                "Future" if args.len() == 1 => self.is_string(&args[0], depth + 1),
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_signatures_and_spans() {
        let text = r#"-- a comment with fn fake(@Int -> @Int)
type Count = { @Nat | @Nat.0 < 10 };
data Shape { Circle(Float64), Square(Float64) }

/* block /* nested */ fn not_this(@Int -> @Int) */
private fn pred(@Int, @Count, @Byte, @Shape -> @Bool)
  requires(forall(@Nat, 3, fn(@Nat -> @Bool) effects(pure) { true }))
  ensures(true)
  effects(pure)
{
  let @String = "}{";
  helper(@Int.0) > 5
}
where {
  fn helper(@Int -> @Int)
    requires(true) ensures(true) effects(pure)
  { @Int.0 }
}

public forall<T> fn id(@T -> @T) requires(true) ensures(true) effects(pure) { @T.0 }

public fn main(@String, @Array<Int>, @Unit, @Float64, @fn(Int -> Int) effects(pure) -> @String)
  requires(true)
  ensures(true)
  effects(<IO>)
{
  "x"
}
"#;
        let info = SourceInfo::parse("p.vera", text);
        let names: Vec<&str> = info.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["pred", "pred$where$helper", "id", "main", "anon_0"]);
        let pred = info.function("pred").unwrap();
        assert_eq!(pred.params, [Param::Int, Param::Nat, Param::Byte, Param::Word]);
        assert!(!pred.public && pred.top_level && !pred.returns_string);
        assert_eq!((pred.line_start, pred.line_end), (6, 18));
        let helper = info.locate("pred$where$helper").unwrap();
        assert_eq!((helper.line_start, helper.line_end, helper.top_level), (15, 17, false));
        assert!(info.function("helper").is_none());
        let id = info.locate("id$Int").unwrap();
        assert!(id.generic && id.public);
        assert_eq!((id.line_start, id.line_end), (20, 20));
        let main = info.function("main").unwrap();
        assert_eq!(main.params, [Param::Pair, Param::Pair, Param::Float, Param::Word]);
        assert!(main.returns_string && main.public);
        assert_eq!((main.line_start, main.line_end), (22, 28));
    }
}
