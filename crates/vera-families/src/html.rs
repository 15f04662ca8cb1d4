//! `HTML`: `html_parse`, `html_to_string`, `html_query`, `html_text`.
//!
//! Vera 0.2.3 builds its tree with Python's `html.parser.HTMLParser`
//! (`convert_charrefs=True`, fed once and never closed), a tolerant
//! tokenizer rather than an HTML5 tree builder, so this module ports that
//! tokenizer ([`parse`]) and Vera's tree rules: tag and attribute names
//! lowercased, void elements never opened, an end tag closes back to its
//! nearest open match, a document with one element at top level is that
//! element, anything else is wrapped in a synthetic `<html>`. One fix to
//! the reference: Vera 0.2.3 leaves the matched element open on its end
//! tag (`self._stack[i + 1:] = []`), nesting every later sibling inside
//! it; here it is closed (see `fixtures/html_*.correction.json`).
//!
//! `HtmlNode` in guest memory: `HtmlElement(name, attrs, children)` tag 0
//! (name +4/+8, `Map<String, String>` wrapper +12, children +16/+20, 24
//! bytes), `HtmlText(s)` tag 1 and `HtmlComment(s)` tag 2 (string +4/+8,
//! 16 bytes). Attribute maps are built by `vera_layout::collection`.

use crate::bounds::{parse_step_out_of_time, TreeBudget};
use crate::regex::PyRegex;
use vera_layout::values::{self};
use vera_layout::{mem, Field, GuestError, GuestResult, Heap, StringMaps, Tag};

#[path = "html_entities.rs"]
mod entities;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Element {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<Node>,
    },
    Text(String),
    Comment(String),
}

// ---------------------------------------------------------------------
// Guest memory
// ---------------------------------------------------------------------

const MAX_DEPTH: u32 = 2000;

/// Elements inside each other (the root one included) that Vera 0.2.3's
/// recursive `write_html` builds in guest memory before Python's
/// recursion limit stops it: `html_parse("<b>" * 976)` returns the tree,
/// 977 traps with [`WRITE_RECURSION`]. The parser here keeps its own
/// stack, so only writing and walking a tree recurse, at most this deep
/// for a parsed one.
pub const MAX_WRITE_DEPTH: usize = 976;

/// The trap for a parsed tree deeper than [`MAX_WRITE_DEPTH`], in Vera
/// 0.2.3's words.
pub const WRITE_RECURSION: &str =
    "argument 1: RecursionError: maximum recursion depth exceeded while calling a Python object";

/// Builds `node` in guest memory; the result is unrooted.
///
/// With an explicit stack, not recursion: the host's frames count against
/// wasmtime's stack limit whenever it calls back into the guest (`alloc`,
/// a module's own map exports), and recursing per element ran out of it
/// well before [`MAX_WRITE_DEPTH`]. Each open element holds its name,
/// attribute map and children array as roots until its block is built.
pub fn write_node(heap: &mut impl StringMaps, node: &Node) -> GuestResult<u32> {
    let base = heap.pending_roots().len();
    let result = write_tree(heap, node);
    heap.pending_roots().truncate(base);
    result
}

fn write_tree<H: StringMaps>(heap: &mut H, node: &Node) -> GuestResult<u32> {
    struct Open<'n> {
        children: &'n [Node],
        /// Children written so far.
        next: usize,
        name: (u32, u32),
        map: u32,
        /// The children array (0 when there are none).
        array: u32,
        /// `pending_roots` before this element's were pushed.
        mark: usize,
    }
    fn hold<H: Heap>(heap: &mut H, ptr: u32) {
        if ptr != 0 {
            heap.pending_roots().push(ptr);
        }
    }
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut next = Some(node);
    loop {
        // The block just finished, to store in its parent.
        let mut done = None;
        match next.take() {
            Some(leaf @ (Node::Text(s) | Node::Comment(s))) => {
                let tag = if matches!(leaf, Node::Text(_)) { 1 } else { 2 };
                let (p, l) = values::alloc_str(heap, s.as_bytes())?;
                done = Some(values::alloc_block(heap, 16, tag, &[(4, p), (8, l)], &[p])?);
            }
            Some(Node::Element { name, attrs, children }) => {
                let mark = heap.pending_roots().len();
                let (np, nl) = values::alloc_str(heap, name.as_bytes())?;
                hold(heap, np);
                let map = write_attrs(heap, attrs)?;
                hold(heap, map);
                let array = if children.is_empty() {
                    0
                } else {
                    let size = u32::try_from(children.len())
                        .ok()
                        .and_then(|n| n.checked_mul(4))
                        .ok_or_else(|| GuestError::too_large(children.len() as u64 * 4))?;
                    let array = heap.alloc(size)?;
                    mem::bytes_mut(heap.memory_mut(), array, size as usize)?.fill(0);
                    hold(heap, array);
                    array
                };
                stack.push(Open {
                    children,
                    next: 0,
                    name: (np, nl),
                    map,
                    array,
                    mark,
                });
            }
            None => {}
        }
        loop {
            let Some(top) = stack.last_mut() else {
                return done.ok_or_else(|| GuestError::host("html write: empty stack"));
            };
            if let Some(child) = done.take() {
                mem::write_u32(heap.memory_mut(), top.array + 4 * (top.next as u32 - 1), child)?;
            }
            if top.next < top.children.len() {
                next = Some(&top.children[top.next]);
                top.next += 1;
                break;
            }
            let (np, nl) = top.name;
            let (map, array, n, mark) = (top.map, top.array, top.children.len() as u32, top.mark);
            let block = values::alloc_block(heap, 24, 0, &[(4, np), (8, nl), (12, map), (16, array), (20, n)], &[])?;
            heap.pending_roots().truncate(mark);
            stack.pop();
            done = Some(block);
        }
    }
}

/// The attributes as a `Map<String, String>`: the strings go into a
/// scratch array first (which keeps them alive), then into the bucket.
fn write_attrs(heap: &mut impl StringMaps, attrs: &[(String, String)]) -> GuestResult<u32> {
    let (scratch, _) = values::alloc_array_with(heap, attrs.len() * 2, 8, |h, i| {
        let (k, v) = &attrs[i / 2];
        let s = if i % 2 == 0 { k } else { v };
        let (p, l) = values::alloc_str(h, s.as_bytes())?;
        Ok(Field::str(p, l).0)
    })?;
    heap.with_roots(&[scratch], |h| {
        let mut entries = Vec::with_capacity(attrs.len());
        for i in 0..attrs.len() as u32 {
            let m = h.memory();
            let k = Field(mem::read_u64(m, scratch + 16 * i)?);
            let v = Field(mem::read_u64(m, scratch + 16 * i + 8)?);
            entries.push((k, v));
        }
        h.build_string_map(Tag::Str, &entries)
    })
}

const TREE_TEXT: &str = "text read from an HtmlNode tree";

fn read_str_at(m: &[u8], at: u32, budget: &mut TreeBudget) -> GuestResult<String> {
    budget.read_string(m, mem::read_u32(m, at)?, mem::read_u32(m, at + 4)?, TREE_TEXT)
}

/// Reads the `HtmlNode` tree at `ptr`, which is held meanwhile (reading
/// attributes through a module that keeps its own maps allocates), within
/// `budget` (one per read: see [`TreeBudget`]).
pub fn read_node(heap: &mut impl StringMaps, ptr: u32, budget: &mut TreeBudget) -> GuestResult<Node> {
    heap.with_roots(&[ptr], |h| read_at(h, ptr, 0, budget))
}

fn read_at(heap: &mut impl StringMaps, ptr: u32, depth: u32, budget: &mut TreeBudget) -> GuestResult<Node> {
    let corrupt = |detail: String| GuestError::corrupt("HtmlNode", ptr, detail);
    if depth > MAX_DEPTH {
        return Err(corrupt("nested too deeply".into()));
    }
    if !budget.visit() {
        return Err(corrupt("more nodes than memory holds (shared or cyclic nodes)".into()));
    }
    let m = heap.memory();
    Ok(match mem::read_u32(m, ptr)? {
        0 => {
            let name = read_str_at(m, ptr + 4, budget)?;
            let map = mem::read_u32(m, ptr + 12)?;
            let (cp, cn) = (mem::read_u32(m, ptr + 16)?, mem::read_u32(m, ptr + 20)?);
            let mut attrs = Vec::new();
            for (k, v) in heap.string_map_entries(Tag::Str, map)? {
                let m = heap.memory();
                attrs.push((
                    budget.read_string(m, k.lo(), k.hi(), TREE_TEXT)?,
                    budget.read_string(m, v.lo(), v.hi(), TREE_TEXT)?,
                ));
            }
            if (cn as i32) < 0 {
                return Err(corrupt(format!("child count {}", cn as i32)));
            }
            mem::bytes(heap.memory(), cp, cn as usize * 4)?;
            let mut children = Vec::with_capacity(cn as usize);
            for i in 0..cn {
                let child = mem::read_u32(heap.memory(), cp + 4 * i)?;
                children.push(read_at(heap, child, depth + 1, budget)?);
            }
            Node::Element { name, attrs, children }
        }
        1 => Node::Text(read_str_at(m, ptr + 4, budget)?),
        2 => Node::Comment(read_str_at(m, ptr + 4, budget)?),
        t => return Err(corrupt(format!("unknown HtmlNode tag {t}"))),
    })
}

// ---------------------------------------------------------------------
// Serialisation, text, queries (vera/runtime/html.py)
// ---------------------------------------------------------------------

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
];

fn is_void(name: &str) -> bool {
    VOID.contains(&name.to_lowercase().as_str())
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn to_html(node: &Node) -> String {
    match node {
        Node::Text(s) => escape_text(s),
        Node::Comment(s) => format!("<!--{}-->", s.replace("-->", "-- >")),
        Node::Element { name, attrs, children } => {
            let mut out = format!("<{name}");
            for (k, v) in attrs {
                out.push_str(&format!(" {k}=\"{}\"", escape_text(v).replace('"', "&quot;")));
            }
            out.push('>');
            if is_void(name) {
                return out;
            }
            for c in children {
                out.push_str(&to_html(c));
            }
            out.push_str(&format!("</{name}>"));
            out
        }
    }
}

pub fn text_of(node: &Node) -> String {
    match node {
        Node::Text(s) => s.clone(),
        Node::Comment(_) => String::new(),
        Node::Element { children, .. } => children.iter().map(text_of).collect(),
    }
}

fn matches_simple(node: &Node, sel: &str) -> bool {
    let Node::Element { name, attrs, .. } = node else {
        return false;
    };
    let attr = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(id) = sel.strip_prefix('#') {
        return attr("id").unwrap_or("") == id;
    }
    if let Some(class) = sel.strip_prefix('.') {
        return attr("class").unwrap_or("").split_whitespace().any(|c| c == class);
    }
    if sel.len() >= 2 && sel.starts_with('[') && sel.ends_with(']') {
        return attr(&sel[1..sel.len() - 1]).is_some();
    }
    name == sel
}

/// Vera's selector query: whitespace-separated simple selectors joined by
/// the CSS descendant combinator. Each element of the tree (the queried
/// node included) is returned once, in document order, when it matches
/// the last selector and its ancestors within the tree match the earlier
/// ones in order. Vera 0.2.3 instead read `A B` as "B a child of A" and
/// restarted at every descendant (duplicates, out of order); see
/// `fixtures/html_query_descendant.correction.json`.
pub fn query<'a>(node: &'a Node, selector: &str) -> Vec<&'a Node> {
    let parts: Vec<&str> = selector.split_whitespace().collect();
    let mut out = Vec::new();
    if !parts.is_empty() {
        walk(node, &parts, &mut Vec::new(), &mut out);
    }
    out
}

fn walk<'a>(node: &'a Node, parts: &[&str], ancestors: &mut Vec<&'a Node>, out: &mut Vec<&'a Node>) {
    let Node::Element { children, .. } = node else {
        return;
    };
    let (last, before) = parts.split_last().expect("at least one part");
    if matches_simple(node, last) {
        let mut want = before.iter().peekable();
        for a in ancestors.iter() {
            if want.peek().is_some_and(|s| matches_simple(a, s)) {
                want.next();
            }
        }
        if want.peek().is_none() {
            out.push(node);
        }
    }
    ancestors.push(node);
    for c in children {
        walk(c, parts, ancestors, out);
    }
    ancestors.pop();
}

// ---------------------------------------------------------------------
// html.unescape
// ---------------------------------------------------------------------

fn entity(name: &str) -> Option<&'static str> {
    entities::ENTITIES
        .binary_search_by(|(k, _)| k.as_bytes().cmp(name.as_bytes()))
        .ok()
        .map(|i| entities::ENTITIES[i].1)
}

/// Python's `html.unescape`.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while let Some(off) = s[i..].find('&') {
        let at = i + off;
        let start = at + 1;
        // `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`
        let mut end = start;
        let mut replacement: Option<String> = None;
        if b.get(start) == Some(&b'#') {
            let hex = matches!(b.get(start + 1), Some(b'x' | b'X'));
            let ds = if hex { start + 2 } else { start + 1 };
            let mut j = ds;
            while j < b.len()
                && (if hex {
                    b[j].is_ascii_hexdigit()
                } else {
                    b[j].is_ascii_digit()
                })
            {
                j += 1;
            }
            if j > ds {
                let digits = &s[ds..j];
                end = if b.get(j) == Some(&b';') { j + 1 } else { j };
                let num = u64::from_str_radix(digits.trim_start_matches('0'), if hex { 16 } else { 10 }).unwrap_or(
                    if digits.trim_start_matches('0').is_empty() {
                        0
                    } else {
                        u64::MAX
                    },
                );
                replacement = Some(numeric_ref(num));
            }
        } else {
            let mut j = start;
            let mut count = 0;
            while count < 32 {
                let Some(ch) = s[j..].chars().next() else { break };
                if "\t\n\x0c <&#;".contains(ch) {
                    break;
                }
                j += ch.len_utf8();
                count += 1;
            }
            if count > 0 {
                end = if b.get(j) == Some(&b';') { j + 1 } else { j };
                let name = &s[start..end];
                replacement = Some(named_ref(name));
            }
        }
        match replacement {
            Some(r) => {
                out.push_str(&s[last..at]);
                out.push_str(&r);
                last = end;
                i = end;
            }
            None => i = start,
        }
    }
    out.push_str(&s[last..]);
    out
}

fn numeric_ref(num: u64) -> String {
    if let Ok(n) = u32::try_from(num) {
        if let Some(&(_, c)) = entities::INVALID_CHARREFS.iter().find(|(k, _)| *k == n) {
            return c.to_string();
        }
    }
    if (0xD800..=0xDFFF).contains(&num) || num > 0x10FFFF {
        return "\u{fffd}".to_owned();
    }
    if entities::INVALID_CODEPOINTS.contains(&(num as u32)) {
        return String::new();
    }
    char::from_u32(num as u32).map_or_else(|| "\u{fffd}".to_owned(), |c| c.to_string())
}

fn named_ref(name: &str) -> String {
    if let Some(v) = entity(name) {
        return v.to_owned();
    }
    let cuts: Vec<usize> = name.char_indices().map(|(i, _)| i).collect();
    // Longest prefix of at least two characters that is an entity.
    for &x in cuts.iter().skip(2).rev() {
        if let Some(v) = entity(&name[..x]) {
            return format!("{v}{}", &name[x..]);
        }
    }
    format!("&{name}")
}

// ---------------------------------------------------------------------
// The tokenizer (Python's html.parser.HTMLParser) and Vera's tree
// ---------------------------------------------------------------------

struct Patterns {
    tagfind: PyRegex,
    attrfind: PyRegex,
    locate_end: PyRegex,
    endtagfind: PyRegex,
}

fn patterns() -> &'static Patterns {
    static P: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| PyRegex::compile(p).expect("HTMLParser's patterns compile");
        Patterns {
            tagfind: re(r"([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*"),
            attrfind: re(
                r#"((?<=['"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*('[^']*'|"[^"]*"|(?!['"])[^>\s]*))?(?:\s|/(?!>))*"#,
            ),
            locate_end: re(
                r#"<[a-zA-Z][^\t\n\r\f />\x00]*(?:[\s/]*(?:(?<=['"\s/])[^\s/>][^\s/=>]*(?:\s*=+\s*(?:'[^']*'|"[^"]*"|(?!['"])[^>\s]*)\s*)?(?:\s|/(?!>))*)*)?\s*"#,
            ),
            endtagfind: re(r"</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>"),
        }
    })
}

/// An open-element arena: the tree while it is built.
struct Builder {
    /// Most elements inside each other so far, the synthetic `<html>` root
    /// included.
    depth: usize,
    names: Vec<String>,
    attrs: Vec<Vec<(String, String)>>,
    kids: Vec<Vec<Kid>>,
    stack: Vec<usize>,
}

enum Kid {
    Elem(usize),
    Text(String),
    Comment(String),
}

impl Builder {
    fn new() -> Builder {
        Builder {
            depth: 1,
            names: vec!["html".into()],
            attrs: vec![Vec::new()],
            kids: vec![Vec::new()],
            stack: vec![0],
        }
    }
    fn top(&self) -> usize {
        *self.stack.last().unwrap_or(&0)
    }
    fn start(&mut self, tag: String, raw: Vec<(String, Option<String>)>) {
        let mut attrs: Vec<(String, String)> = Vec::new();
        for (k, v) in raw {
            let v = v.unwrap_or_default();
            match attrs.iter_mut().find(|(n, _)| *n == k) {
                Some(slot) => slot.1 = v,
                None => attrs.push((k, v)),
            }
        }
        let id = self.names.len();
        let void = is_void(&tag);
        self.names.push(tag);
        self.attrs.push(attrs);
        self.kids.push(Vec::new());
        let top = self.top();
        self.kids[top].push(Kid::Elem(id));
        self.depth = self.depth.max(self.stack.len() + 1);
        if !void {
            self.stack.push(id);
        }
    }
    fn end(&mut self, tag: &str) {
        if let Some(i) = (1..self.stack.len()).rev().find(|&i| self.names[self.stack[i]] == tag) {
            // Vera 0.2.3 keeps stack[i] open here; closing it is the fix.
            self.stack.truncate(i);
        }
    }
    fn data(&mut self, s: String) {
        if !s.is_empty() {
            let top = self.top();
            self.kids[top].push(Kid::Text(s));
        }
    }
    fn comment(&mut self, s: String) {
        let top = self.top();
        self.kids[top].push(Kid::Comment(s));
    }
    /// The tree under element `id`, built with an explicit stack (a
    /// document can nest elements as deep as it is long).
    fn build(&mut self, id: usize) -> Node {
        // Each frame: an element, its kids still to build (reversed), and
        // the children built so far.
        struct Frame {
            id: usize,
            todo: Vec<Kid>,
            done: Vec<Node>,
        }
        let open = |b: &mut Builder, id: usize| {
            let mut todo = std::mem::take(&mut b.kids[id]);
            todo.reverse();
            Frame {
                id,
                done: Vec::with_capacity(todo.len()),
                todo,
            }
        };
        let mut stack = vec![open(self, id)];
        loop {
            let top = stack.last_mut().expect("a frame");
            match top.todo.pop() {
                Some(Kid::Elem(e)) => {
                    let frame = open(self, e);
                    stack.push(frame);
                }
                Some(Kid::Text(t)) => top.done.push(Node::Text(t)),
                Some(Kid::Comment(c)) => top.done.push(Node::Comment(c)),
                None => {
                    let frame = stack.pop().expect("a frame");
                    let node = Node::Element {
                        name: std::mem::take(&mut self.names[frame.id]),
                        attrs: std::mem::take(&mut self.attrs[frame.id]),
                        children: frame.done,
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.done.push(node),
                        None => return node,
                    }
                }
            }
        }
    }
    /// Whether the document has one element at top level, which is the
    /// tree's root.
    fn single_root(&self) -> bool {
        matches!(self.kids[0].as_slice(), [Kid::Elem(_)])
    }
    /// Elements inside each other in the tree [`Builder::root`] returns.
    fn root_depth(&self) -> usize {
        self.depth - self.single_root() as usize
    }
    fn root(mut self) -> Node {
        let root = self.build(0);
        if let Node::Element { mut children, .. } = root {
            if children.len() == 1 && matches!(children[0], Node::Element { .. }) {
                return children.pop().expect("one child");
            }
            return Node::Element {
                name: "html".into(),
                attrs: Vec::new(),
                children,
            };
        }
        root
    }
}

/// Group `g`'s span of an anchored match of `re` at `pos`.
fn match_at(re: &PyRegex, text: &str, pos: usize) -> Option<Vec<Option<(usize, usize)>>> {
    re.match_at(text, pos)
}

fn find_from(s: &str, pat: &str, from: usize) -> Option<usize> {
    s.get(from..)?.find(pat).map(|i| i + from)
}

/// Why [`parse`] returned no tree.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// `html_parse`'s `Err` text (HTMLParser raised).
    Err(String),
    /// The tree is deeper than [`MAX_WRITE_DEPTH`]; it is not built.
    TooDeep,
}

/// Parses `text` as Vera's `html_parse` does (feed without close).
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut b = Builder::new();
    let p = patterns();
    let raw = text;
    let n = raw.len();
    let bytes = raw.as_bytes();
    let mut i = 0;
    let mut cdata: Option<String> = None;
    while i < n {
        if parse_step_out_of_time() {
            // Unwinds the parse; html_parse then reports the deadline.
            return Err(ParseError::TooDeep);
        }
        let j;
        if cdata.is_none() {
            match find_from(raw, "<", i) {
                Some(k) => j = k,
                None => {
                    // Text may end in a cut charref: wait for more (which
                    // never comes, as Vera never calls close()).
                    let window = raw[i..].char_indices().rev().nth(33).map_or(i, |(o, _)| i + o);
                    if let Some(amp) = raw[window..].rfind('&').map(|o| o + window) {
                        if !raw[amp..].chars().any(|c| c.is_whitespace() || c == ';') {
                            break;
                        }
                    }
                    j = n;
                }
            }
        } else {
            let elem = cdata.clone().unwrap_or_default();
            match find_cdata_end(raw, i, &elem) {
                Some(k) => j = k,
                None => break,
            }
        }
        if i < j {
            if cdata.is_none() {
                b.data(unescape(&raw[i..j]));
            } else {
                b.data(raw[i..j].to_owned());
            }
        }
        i = j;
        if i == n {
            break;
        }
        let rest = &raw[i..];
        // Only '<' reaches here in convert_charrefs mode.
        let k: i64 = if rest.len() >= 2 && bytes[i + 1].is_ascii_alphabetic() {
            parse_starttag(raw, i, &mut b, &mut cdata, p)
        } else if rest.starts_with("</") {
            parse_endtag(raw, i, &mut b, &mut cdata, p)
        } else if rest.starts_with("<!--") {
            parse_comment(raw, i, &mut b)
        } else if rest.starts_with("<?") {
            find_from(raw, ">", i + 2).map_or(-1, |g| g as i64 + 1)
        } else if rest.starts_with("<!") {
            parse_declaration(raw, i, &mut b).map_err(ParseError::Err)?
        } else if i + 1 < n {
            b.data("<".into());
            (i + 1) as i64
        } else {
            break;
        };
        if k < 0 {
            break;
        }
        i = k as usize;
    }
    if b.root_depth() > MAX_WRITE_DEPTH {
        return Err(ParseError::TooDeep);
    }
    Ok(b.root())
}

/// `</\s*elem\s*>` (case-insensitive) from `i`. `elem` is lowercase
/// ASCII (`script`, `style`); only the text after each `</` is compared,
/// so a document with many such elements is not lowercased at each.
fn find_cdata_end(raw: &str, i: usize, elem: &str) -> Option<usize> {
    let mut from = i;
    while let Some(at) = find_from(raw, "</", from) {
        let t = raw[at + 2..].trim_start();
        if let Some(name) = t.get(..elem.len()) {
            if name.eq_ignore_ascii_case(elem) && t[elem.len()..].trim_start().starts_with('>') {
                return Some(at);
            }
        }
        from = at + 2;
    }
    None
}

fn parse_comment(raw: &str, i: usize, b: &mut Builder) -> i64 {
    // `--\s*>` after `<!--`
    let mut from = i + 4;
    while let Some(at) = find_from(raw, "--", from) {
        let after = &raw[at + 2..];
        let t = after.trim_start();
        if t.starts_with('>') {
            b.comment(raw[i + 4..at].to_owned());
            return (raw.len() - t.len() + 1) as i64;
        }
        from = at + 1;
    }
    -1
}

fn parse_declaration(raw: &str, i: usize, b: &mut Builder) -> Result<i64, String> {
    let rest = &raw[i..];
    if rest.starts_with("<!--") {
        return Ok(parse_comment(raw, i, b));
    }
    if let Some(section) = rest.strip_prefix("<![") {
        let name: String = section
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        let lower = name.to_lowercase();
        let close: &[&str] = match lower.as_str() {
            "temp" | "cdata" | "ignore" | "include" | "rcdata" => &["]", "]", ">"],
            "if" | "else" | "endif" => &["]", ">"],
            _ => return Err(format!("unknown status keyword {:?} in marked section", name)),
        };
        // `]\s*]\s*>` or `]\s*>` searched from i+3.
        let mut from = i + 3;
        'outer: while let Some(at) = find_from(raw, close[0], from) {
            let mut k = at + 1;
            for piece in &close[1..] {
                let t = raw[k..].trim_start();
                k = raw.len() - t.len();
                if !t.starts_with(piece) {
                    from = at + 1;
                    continue 'outer;
                }
                k += 1;
            }
            return Ok(k as i64);
        }
        return Ok(-1);
    }
    // (`get`: the ninth byte may fall inside a character.)
    if rest.get(..9).is_some_and(|head| head.eq_ignore_ascii_case("<!doctype")) {
        return Ok(find_from(raw, ">", i + 9).map_or(-1, |g| g as i64 + 1));
    }
    // Bogus comment `<!...>`.
    Ok(match find_from(raw, ">", i + 2) {
        Some(pos) => {
            b.comment(raw[i + 2..pos].to_owned());
            pos as i64 + 1
        }
        None => -1,
    })
}

fn check_for_whole_start_tag(raw: &str, i: usize, p: &Patterns) -> i64 {
    let Some(m) = match_at(&p.locate_end, raw, i) else {
        return -1;
    };
    let j = m[0].map_or(i, |s| s.1);
    let next = raw[j..].chars().next();
    match next {
        Some('>') => (j + 1) as i64,
        Some('/') if raw[j..].starts_with("/>") => (j + 2) as i64,
        Some('/') => -1,
        None => -1,
        Some(c) if c.is_ascii_alphabetic() || c == '=' || c == '/' => -1,
        Some(_) => {
            if j > i {
                j as i64
            } else {
                (i + 1) as i64
            }
        }
    }
}

fn parse_starttag(raw: &str, i: usize, b: &mut Builder, cdata: &mut Option<String>, p: &Patterns) -> i64 {
    let endpos = check_for_whole_start_tag(raw, i, p);
    if endpos < 0 {
        return endpos;
    }
    let endpos = endpos as usize;
    let Some(m) = match_at(&p.tagfind, raw, i + 1) else {
        return -1;
    };
    let (ts, te) = m[1].unwrap_or((i + 1, i + 1));
    let tag = raw[ts..te].to_lowercase();
    let mut k = m[0].map_or(i + 1, |s| s.1);
    let mut attrs = Vec::new();
    while k < endpos {
        let Some(m) = match_at(&p.attrfind, raw, k) else { break };
        let name = m[1].map_or("", |(s, e)| &raw[s..e]);
        let rest = m[2].map(|(s, e)| &raw[s..e]).unwrap_or("");
        let mut value = if rest.is_empty() {
            None
        } else {
            Some(m[3].map_or("", |(s, e)| &raw[s..e]).to_owned())
        };
        if let Some(v) = &value {
            if v.len() >= 2 && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"')))
            {
                value = Some(v[1..v.len() - 1].to_owned());
            } else if v.len() == 1 && (v == "'" || v == "\"") {
                value = Some(String::new());
            }
        }
        let value = value.map(|v| if v.is_empty() { v } else { unescape(&v) });
        attrs.push((name.to_lowercase(), value));
        let end = m[0].map_or(k, |s| s.1);
        if end == k {
            break;
        }
        k = end;
    }
    let end = raw[k.min(endpos)..endpos].trim();
    if end != ">" && end != "/>" {
        b.data(raw[i..endpos].to_owned());
        return endpos as i64;
    }
    if end.ends_with("/>") {
        b.start(tag.clone(), attrs);
        b.end(&tag);
    } else {
        let is_cdata = tag == "script" || tag == "style";
        b.start(tag.clone(), attrs);
        if is_cdata {
            *cdata = Some(tag);
        }
    }
    endpos as i64
}

fn parse_endtag(raw: &str, i: usize, b: &mut Builder, cdata: &mut Option<String>, p: &Patterns) -> i64 {
    let Some(gt) = find_from(raw, ">", i + 1) else {
        return -1;
    };
    let gtpos = gt + 1;
    let Some(m) = match_at(&p.endtagfind, raw, i) else {
        if cdata.is_some() {
            b.data(raw[i..gtpos].to_owned());
            return gtpos as i64;
        }
        let Some(nm) = match_at(&p.tagfind, raw, i + 2) else {
            if raw[i..].starts_with("</>") {
                return (i + 3) as i64;
            }
            // Bogus comment `</...>`.
            b.comment(raw[i + 2..gt].to_owned());
            return gtpos as i64;
        };
        let (s, e) = nm[1].unwrap_or((i + 2, i + 2));
        let name = raw[s..e].to_lowercase();
        let after = nm[0].map_or(e, |x| x.1);
        let close = find_from(raw, ">", after).map_or(0, |g| g + 1);
        b.end(&name);
        return close as i64;
    };
    let (s, e) = m[1].unwrap_or((i, i));
    let elem = raw[s..e].to_lowercase();
    if let Some(c) = cdata.as_ref() {
        if &elem != c {
            b.data(raw[i..gtpos].to_owned());
            return gtpos as i64;
        }
    }
    b.end(&elem);
    *cdata = None;
    m[0].map_or(gtpos, |x| x.1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the html_text fuzz target: a declaration `<!` whose ninth
    /// byte falls inside a character.
    #[test]
    fn a_declaration_cut_inside_a_character_is_text() {
        for doc in [
            "<!<<<<<<\u{fffd}\u{fffd}",
            "<!doctyp\u{e9}>",
            "<!\u{e9}\u{e9}\u{e9}\u{e9}>",
        ] {
            assert!(parse(doc).is_ok(), "{doc:?}");
        }
    }
    use vera_layout::test_heap::TestHeap;

    #[test]
    fn unescape_as_python() {
        assert_eq!(
            unescape("&lt;&amp;&#65;&#x42;&copy &notit; &unknown; &"),
            "<&AB© ¬it; &unknown; &"
        );
        assert_eq!(unescape("&#0;&#x80;&#xD800;&#1;"), "\u{fffd}\u{20ac}\u{fffd}");
    }

    #[test]
    fn siblings_close_on_end_tag() {
        let tree = parse("<ul><li>one</li><li>two</li></ul>").unwrap();
        assert_eq!(to_html(&tree), "<ul><li>one</li><li>two</li></ul>");
        let tree = parse("<p a=1 b='x' c=\"&lt;\" d>t<br/>u</p>").unwrap();
        assert_eq!(to_html(&tree), "<p a=\"1\" b=\"x\" c=\"&lt;\" d=\"\">t<br>u</p>");
    }

    #[test]
    fn guest_layout_round_trips() {
        let tree = parse("<div id=a class='x y'><p>t<!-- c --></p><img src=q></div>").unwrap();
        let mut heap = TestHeap::stressed();
        let ptr = write_node(&mut heap, &tree).unwrap();
        assert_eq!(
            read_node(&mut heap, ptr, &mut TreeBudget::new(usize::MAX, usize::MAX)).unwrap(),
            tree
        );
        assert_eq!(query(&tree, ".y").len(), 1);
        assert_eq!(query(&tree, "div [src]").len(), 1);
    }

    #[test]
    fn depth_bound_is_vera_0_2_3_writer_limit() {
        assert!(parse(&"<b>".repeat(976)).is_ok());
        assert_eq!(parse(&"<b>".repeat(977)), Err(ParseError::TooDeep));
        // A second top-level element puts all under a synthetic <html>.
        assert!(parse(&format!("<i></i>{}", "<b>".repeat(975))).is_ok());
        assert_eq!(
            parse(&format!("<i></i>{}", "<b>".repeat(976))),
            Err(ParseError::TooDeep)
        );
        assert_eq!(parse(&format!("{}<br>", "<b>".repeat(976))), Err(ParseError::TooDeep));
        assert_eq!(parse(&"<b x>".repeat(200_000)), Err(ParseError::TooDeep));
        let flat = parse(&"<b></b>".repeat(20_000)).unwrap();
        let Node::Element { children, .. } = &flat else {
            panic!("{flat:?}")
        };
        assert_eq!(children.len(), 20_000);
    }

    #[test]
    fn cdata_end_is_found_case_insensitively() {
        let tree = parse("<div><SCRIPT>a</b>c</ ScRiPt >d</div>").unwrap();
        assert_eq!(to_html(&tree), "<div><script>a&lt;/b&gt;c</script>d</div>");
    }

    #[test]
    fn a_parse_past_the_deadline_gives_up() {
        let text = "<p>x</p>".repeat(20_000);
        crate::bounds::set_parse_deadline(Some(std::time::Instant::now()));
        assert_eq!(parse(&text), Err(ParseError::TooDeep));
        crate::bounds::set_parse_deadline(None);
        assert!(parse(&text).is_ok());
    }
}
