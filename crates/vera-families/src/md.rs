//! `Markdown`: `md_parse`, `md_render`, `md_has_heading`,
//! `md_has_code_block`, `md_extract_code_blocks`.
//!
//! Vera 0.2.3 parses its own §9.7.3 Markdown subset with a hand-written
//! parser (`vera/markdown.py`: ATX headings, fenced code, quotes, lists,
//! thematic breaks, GFM tables, paragraphs; a greedy inline scanner), not
//! CommonMark, so this module is a port of that parser and its canonical
//! renderer rather than a CommonMark library. It owns the `MdBlock` /
//! `MdInline` layouts in guest memory (tags and offsets as Vera's
//! `ConstructorLayout`s): [`write_block`] builds a tree bottom-up, rooting
//! every finished child while its parent is allocated; [`read_block`]
//! reads one back, bounds-checked and depth-limited.

use std::sync::OnceLock;

use vera_layout::values::{self};
use vera_layout::{mem, Field, GuestError, GuestResult, Heap};

use crate::bounds::{parse_step_out_of_time, TreeBudget};
use crate::regex::PyRegex;

#[derive(Clone, Debug, PartialEq)]
pub enum Inline {
    Text(String),
    Code(String),
    Emph(Vec<Inline>),
    Strong(Vec<Inline>),
    Link(Vec<Inline>, String),
    Image(String, String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Heading(i64, Vec<Inline>),
    CodeBlock(String, String),
    BlockQuote(Vec<Block>),
    List(bool, Vec<Vec<Block>>),
    ThematicBreak,
    Table(Vec<Vec<Vec<Inline>>>),
    Document(Vec<Block>),
}

// ---------------------------------------------------------------------
// Guest memory
// ---------------------------------------------------------------------

/// Deepest tree [`read_block`] follows (guards against cyclic memory).
const MAX_DEPTH: u32 = 2000;

/// A string allocated and rooted for the rest of `body`.
fn with_str<H: Heap, R>(
    heap: &mut H,
    s: &str,
    body: impl FnOnce(&mut H, (u32, u32)) -> GuestResult<R>,
) -> GuestResult<R> {
    let (p, l) = values::alloc_str(heap, s.as_bytes())?;
    heap.with_roots(&[p], |heap| body(heap, (p, l)))
}

fn write_inlines(heap: &mut impl Heap, items: &[Inline]) -> GuestResult<(u32, u32)> {
    values::alloc_array_with(heap, items.len(), 4, |h, i| write_inline(h, &items[i]).map(u64::from))
}

fn write_inline(heap: &mut impl Heap, inline: &Inline) -> GuestResult<u32> {
    match inline {
        Inline::Text(s) | Inline::Code(s) => {
            let tag = if matches!(inline, Inline::Text(_)) { 0 } else { 1 };
            let (p, l) = values::alloc_str(heap, s.as_bytes())?;
            values::alloc_block(heap, 16, tag, &[(4, p), (8, l)], &[p])
        }
        Inline::Emph(kids) | Inline::Strong(kids) => {
            let tag = if matches!(inline, Inline::Emph(_)) { 2 } else { 3 };
            let (p, l) = write_inlines(heap, kids)?;
            values::alloc_block(heap, 16, tag, &[(4, p), (8, l)], &[p])
        }
        Inline::Link(kids, url) => {
            let (ap, al) = write_inlines(heap, kids)?;
            heap.with_roots(&[ap], |h| {
                let (up, ul) = values::alloc_str(h, url.as_bytes())?;
                values::alloc_block(h, 24, 4, &[(4, ap), (8, al), (12, up), (16, ul)], &[up])
            })
        }
        Inline::Image(alt, src) => with_str(heap, alt, |h, (ap, al)| {
            let (sp, sl) = values::alloc_str(h, src.as_bytes())?;
            values::alloc_block(h, 24, 5, &[(4, ap), (8, al), (12, sp), (16, sl)], &[sp])
        }),
    }
}

fn write_blocks(heap: &mut impl Heap, items: &[Block]) -> GuestResult<(u32, u32)> {
    values::alloc_array_with(heap, items.len(), 4, |h, i| write_block(h, &items[i]).map(u64::from))
}

/// Builds `block` in guest memory; the result is unrooted.
pub fn write_block(heap: &mut impl Heap, block: &Block) -> GuestResult<u32> {
    match block {
        Block::Paragraph(kids) => {
            let (p, l) = write_inlines(heap, kids)?;
            values::alloc_block(heap, 16, 0, &[(4, p), (8, l)], &[p])
        }
        Block::Heading(level, kids) => {
            let (p, l) = write_inlines(heap, kids)?;
            let ptr = values::alloc_block(heap, 24, 1, &[(16, p), (20, l)], &[p])?;
            mem::write_u64(heap.memory_mut(), ptr + 8, *level as u64)?;
            Ok(ptr)
        }
        Block::CodeBlock(lang, code) => with_str(heap, lang, |h, (lp, ll)| {
            let (cp, cl) = values::alloc_str(h, code.as_bytes())?;
            values::alloc_block(h, 24, 2, &[(4, lp), (8, ll), (12, cp), (16, cl)], &[cp])
        }),
        Block::BlockQuote(kids) | Block::Document(kids) => {
            let tag = if matches!(block, Block::BlockQuote(_)) { 3 } else { 7 };
            let (p, l) = write_blocks(heap, kids)?;
            values::alloc_block(heap, 16, tag, &[(4, p), (8, l)], &[p])
        }
        Block::List(ordered, items) => {
            let (p, l) = values::alloc_array_with(heap, items.len(), 8, |h, i| {
                let (p, l) = write_blocks(h, &items[i])?;
                Ok(Field::str(p, l).0)
            })?;
            values::alloc_block(heap, 16, 4, &[(4, *ordered as u32), (8, p), (12, l)], &[p])
        }
        Block::ThematicBreak => values::alloc_block(heap, 8, 5, &[], &[]),
        Block::Table(rows) => {
            let (p, l) = values::alloc_array_with(heap, rows.len(), 8, |h, i| {
                let row = &rows[i];
                let (p, l) = values::alloc_array_with(h, row.len(), 8, |h, j| {
                    let (p, l) = write_inlines(h, &row[j])?;
                    Ok(Field::str(p, l).0)
                })?;
                Ok(Field::str(p, l).0)
            })?;
            values::alloc_block(heap, 16, 6, &[(4, p), (8, l)], &[p])
        }
    }
}

fn bad(ptr: u32, detail: String) -> GuestError {
    GuestError::corrupt("Markdown value", ptr, detail)
}

fn read_pair(m: &[u8], at: u32) -> GuestResult<(u32, u32)> {
    Ok((mem::read_u32(m, at)?, mem::read_u32(m, at + 4)?))
}

fn read_str_at(m: &[u8], at: u32, budget: &mut TreeBudget) -> GuestResult<String> {
    let (p, l) = read_pair(m, at)?;
    budget.read_string(m, p, l, "text read from a Markdown tree")
}

/// Reads `len` cells of `cell` bytes at `ptr`, each through `each`.
fn read_cells<T>(
    m: &[u8],
    (ptr, len): (u32, u32),
    cell: u32,
    mut each: impl FnMut(u32) -> GuestResult<T>,
) -> GuestResult<Vec<T>> {
    if (len as i32) < 0 {
        return Err(GuestError::bad_length("Array", len as i32 as i64));
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    mem::bytes(m, ptr, len as usize * cell as usize)?;
    (0..len).map(|i| each(ptr + i * cell)).collect()
}

fn read_inlines(m: &[u8], at: u32, depth: u32, budget: &mut TreeBudget) -> GuestResult<Vec<Inline>> {
    read_cells(m, read_pair(m, at)?, 4, |c| {
        inline_at(m, mem::read_u32(m, c)?, depth + 1, budget)
    })
}

fn read_blocks(m: &[u8], at: u32, depth: u32, budget: &mut TreeBudget) -> GuestResult<Vec<Block>> {
    read_cells(m, read_pair(m, at)?, 4, |c| {
        block_at(m, mem::read_u32(m, c)?, depth + 1, budget)
    })
}

fn inline_at(m: &[u8], ptr: u32, depth: u32, budget: &mut TreeBudget) -> GuestResult<Inline> {
    if depth > MAX_DEPTH {
        return Err(bad(ptr, "nested too deeply".into()));
    }
    if !budget.visit() {
        return Err(bad(ptr, "more nodes than memory holds (shared or cyclic nodes)".into()));
    }
    Ok(match mem::read_u32(m, ptr)? {
        0 => Inline::Text(read_str_at(m, ptr + 4, budget)?),
        1 => Inline::Code(read_str_at(m, ptr + 4, budget)?),
        2 => Inline::Emph(read_inlines(m, ptr + 4, depth, budget)?),
        3 => Inline::Strong(read_inlines(m, ptr + 4, depth, budget)?),
        4 => Inline::Link(
            read_inlines(m, ptr + 4, depth, budget)?,
            read_str_at(m, ptr + 12, budget)?,
        ),
        5 => Inline::Image(read_str_at(m, ptr + 4, budget)?, read_str_at(m, ptr + 12, budget)?),
        t => return Err(bad(ptr, format!("unknown MdInline tag {t}"))),
    })
}

/// Reads an `MdBlock` tree from guest memory, within `budget` (one per
/// read: see [`TreeBudget`]).
pub fn read_block(m: &[u8], ptr: u32, budget: &mut TreeBudget) -> GuestResult<Block> {
    block_at(m, ptr, 0, budget)
}

fn block_at(m: &[u8], ptr: u32, depth: u32, budget: &mut TreeBudget) -> GuestResult<Block> {
    if depth > MAX_DEPTH {
        return Err(bad(ptr, "nested too deeply".into()));
    }
    if !budget.visit() {
        return Err(bad(ptr, "more nodes than memory holds (shared or cyclic nodes)".into()));
    }
    Ok(match mem::read_u32(m, ptr)? {
        0 => Block::Paragraph(read_inlines(m, ptr + 4, depth, budget)?),
        1 => Block::Heading(mem::read_i64(m, ptr + 8)?, read_inlines(m, ptr + 16, depth, budget)?),
        2 => Block::CodeBlock(read_str_at(m, ptr + 4, budget)?, read_str_at(m, ptr + 12, budget)?),
        3 => Block::BlockQuote(read_blocks(m, ptr + 4, depth, budget)?),
        4 => {
            let ordered = mem::read_u32(m, ptr + 4)? != 0;
            let items = read_cells(m, read_pair(m, ptr + 8)?, 8, |c| read_blocks(m, c, depth + 1, budget))?;
            Block::List(ordered, items)
        }
        5 => Block::ThematicBreak,
        6 => {
            let rows = read_cells(m, read_pair(m, ptr + 4)?, 8, |r| {
                read_cells(m, read_pair(m, r)?, 8, |cell| read_inlines(m, cell, depth + 1, budget))
            })?;
            Block::Table(rows)
        }
        7 => Block::Document(read_blocks(m, ptr + 4, depth, budget)?),
        t => return Err(bad(ptr, format!("unknown MdBlock tag {t}"))),
    })
}

// ---------------------------------------------------------------------
// Parser (port of vera/markdown.py and vera/markdown_grammar.py)
// ---------------------------------------------------------------------

const WS_CHARS: &[char] = &[' ', '\t', '\r', '\x0b', '\x0c'];

fn trim(s: &str) -> &str {
    s.trim_matches(WS_CHARS)
}

fn is_blank(s: &str) -> bool {
    trim(s).is_empty()
}

struct Grammar {
    atx_heading: PyRegex,
    fence_open: PyRegex,
    thematic_break: PyRegex,
    table_row: PyRegex,
    table_sep: PyRegex,
}

fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        const WS: &str = "[ \\t\\r\\x0b\\x0c]";
        const ANY: &str = "[^\\n]";
        let re = |p: String| PyRegex::compile(&p).expect("the Markdown grammar compiles");
        Grammar {
            atx_heading: re(format!("^(#{{1,6}}){WS}+({ANY}*?)(?:{WS}+#+{WS}*)?$")),
            fence_open: re(format!("^(`{{3,}}|~{{3,}}){WS}*({ANY}*?)$")),
            thematic_break: re(format!("^(?:---+|\\*\\*\\*+|___+){WS}*$")),
            table_row: re(format!("^\\|({ANY}+)\\|?{WS}*$")),
            table_sep: re(format!("^\\|[ \\t\\r\\x0b\\x0c:]*-[- \\t\\r\\x0b\\x0c:|]*\\|?{WS}*$")),
        }
    })
}

/// `re.match` with the groups as strings (unmatched groups are ""); every
/// grammar pattern starts with `^`, so the match is tried at the start
/// only, not searched for along a long line.
fn rmatch(re: &PyRegex, line: &str) -> Option<Vec<String>> {
    re.match_start(line)
}

fn fence_closes(line: &str, ch: char, len: usize) -> bool {
    let run = line.chars().take_while(|&c| c == ch).count();
    run >= len && is_blank(&line[run * ch.len_utf8()..])
}

// The three line patterns a nested block starts with, by hand: a line
// (which never holds `\n`) is matched once per level it is nested in, so
// these run often on long lines.

/// `^>{WS}?({ANY}*)`: a quote line's content.
fn blockquote_line(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('>')?;
    Some(rest.strip_prefix(WS_CHARS).unwrap_or(rest))
}

/// The content after at least one `{WS}` (the pattern's greedy `{WS}+`).
fn after_space(rest: &str) -> Option<&str> {
    let content = rest.trim_start_matches(WS_CHARS);
    (content.len() < rest.len()).then_some(content)
}

/// `^[-*+]{WS}+({ANY}*)`: an unordered item's content.
fn unordered_item(line: &str) -> Option<&str> {
    after_space(line.strip_prefix(['-', '*', '+'])?)
}

/// `^([0-9]+)[.)]{WS}+({ANY}*)`: an ordered item's content.
fn ordered_item(line: &str) -> Option<&str> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    after_space(line[digits..].strip_prefix(['.', ')'])?)
}

fn is_block_start(line: &str) -> bool {
    let g = grammar();
    [&g.atx_heading, &g.fence_open, &g.thematic_break]
        .iter()
        .any(|re| re.match_at(line, 0).is_some())
        || blockquote_line(line).is_some()
        || unordered_item(line).is_some()
        || ordered_item(line).is_some()
}

/// Nesting deeper than Vera 0.2.3's parser reaches: its `_parse_blocks`
/// (one call per document, quote and list item) and `_parse_inlines` (one
/// per paragraph, heading, cell, link, emphasis) recurse, and Python's
/// recursion limit stops it when [`MAX_PARSE_FRAMES`] of them are in
/// progress; `md_parse` returns its `Err`. This parser stops there too, so
/// its own recursion stays shallow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TooDeep;

/// Calls of the block and inline parsers in progress that Vera 0.2.3 can
/// hold (984 quotes inside each other, `>>>…> x`, are one too many).
pub const MAX_PARSE_FRAMES: usize = 985;

/// `md_parse`'s `Err` text for [`TooDeep`] (Python's `RecursionError`,
/// caught by Vera's host as any exception of the parser).
pub const PARSE_RECURSION: &str = "maximum recursion depth exceeded in comparison";

/// Python frames Vera 0.2.3's `write_md_block` can stack while it builds a
/// parsed tree in guest memory (486 nested quotes or links, 324 nested
/// lists); see [`write_frames`]. A deeper tree traps there, outside the
/// parser's `except`.
pub const MAX_WRITE_FRAMES: usize = 976;

/// The trap for a tree deeper than [`MAX_WRITE_FRAMES`], in Vera 0.2.3's words.
pub const WRITE_RECURSION: &str =
    "argument 1: RecursionError: maximum recursion depth exceeded while calling a Python object";

/// The frames of Vera 0.2.3's writer on the deepest path of `block`: a
/// block in a document or quote costs 2 (`write_md_block`,
/// `_write_block_array`), in a list item 3; an inline in a paragraph,
/// heading, emphasis or link 2, in a table cell 3. The recursion here is
/// as deep as the tree, which the parser bounded.
pub fn write_frames(block: &Block) -> usize {
    fn inlines(items: &[Inline], cost: usize) -> usize {
        items.iter().map(|i| cost + inline(i)).max().unwrap_or(0)
    }
    fn inline(item: &Inline) -> usize {
        match item {
            Inline::Emph(k) | Inline::Strong(k) | Inline::Link(k, _) => inlines(k, 2),
            _ => 0,
        }
    }
    match block {
        Block::Paragraph(k) | Block::Heading(_, k) => inlines(k, 2),
        Block::BlockQuote(k) | Block::Document(k) => k.iter().map(|b| 2 + write_frames(b)).max().unwrap_or(0),
        Block::List(_, items) => items.iter().flatten().map(|b| 3 + write_frames(b)).max().unwrap_or(0),
        Block::Table(rows) => rows.iter().flatten().map(|c| inlines(c, 3)).max().unwrap_or(0),
        Block::CodeBlock(..) | Block::ThematicBreak => 0,
    }
}

/// `parse_markdown`: the document is every line split on `\n`.
pub fn parse_markdown(text: &str) -> Result<Block, TooDeep> {
    let lines: Vec<&str> = text.split('\n').collect();
    Ok(Block::Document(parse_blocks(&lines, 1)?))
}

/// `frames`: this call's number among the parser calls in progress.
fn parse_blocks(lines: &[&str], frames: usize) -> Result<Vec<Block>, TooDeep> {
    if frames > MAX_PARSE_FRAMES {
        return Err(TooDeep);
    }
    let g = grammar();
    let end = lines.len();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < end {
        if parse_step_out_of_time() {
            // Unwinds the parse; md_parse then reports the deadline.
            return Err(TooDeep);
        }
        let line = lines[i];
        if is_blank(line) {
            i += 1;
            continue;
        }
        if let Some(m) = rmatch(&g.atx_heading, line) {
            blocks.push(Block::Heading(
                m[1].chars().count() as i64,
                parse_inlines_at(trim(&m[2]), frames + 1)?,
            ));
            i += 1;
            continue;
        }
        if let Some(m) = rmatch(&g.fence_open, line) {
            let fence_char = m[1].chars().next().unwrap_or('`');
            let fence_len = m[1].chars().count();
            let lang = trim(&m[2]).to_owned();
            let mut code = Vec::new();
            i += 1;
            while i < end {
                if fence_closes(lines[i], fence_char, fence_len) {
                    i += 1;
                    break;
                }
                code.push(lines[i]);
                i += 1;
            }
            blocks.push(Block::CodeBlock(lang, code.join("\n")));
            continue;
        }
        if g.thematic_break.match_at(line, 0).is_some() {
            blocks.push(Block::ThematicBreak);
            i += 1;
            continue;
        }
        if blockquote_line(line).is_some() {
            let mut bq: Vec<String> = Vec::new();
            while i < end {
                if let Some(content) = blockquote_line(lines[i]) {
                    bq.push(content.to_owned());
                } else if !is_blank(lines[i]) && !is_block_start(lines[i]) {
                    bq.push(lines[i].to_owned());
                } else {
                    break;
                }
                i += 1;
            }
            let refs: Vec<&str> = bq.iter().map(String::as_str).collect();
            blocks.push(Block::BlockQuote(parse_blocks(&refs, frames + 1)?));
            continue;
        }
        if g.table_row.match_at(line, 0).is_some() && i + 1 < end && g.table_sep.match_at(lines[i + 1], 0).is_some() {
            let mut rows = vec![parse_table_row(line, frames)?];
            i += 2;
            while i < end && g.table_row.match_at(lines[i], 0).is_some() {
                rows.push(parse_table_row(lines[i], frames)?);
                i += 1;
            }
            blocks.push(Block::Table(rows));
            continue;
        }
        if unordered_item(line).is_some() {
            blocks.push(parse_list(lines, &mut i, false, frames)?);
            continue;
        }
        if ordered_item(line).is_some() {
            blocks.push(parse_list(lines, &mut i, true, frames)?);
            continue;
        }
        let mut para = Vec::new();
        while i < end && !is_blank(lines[i]) && !is_block_start(lines[i]) {
            para.push(lines[i]);
            i += 1;
        }
        if !para.is_empty() {
            blocks.push(Block::Paragraph(parse_inlines_at(&para.join(" "), frames + 1)?));
        }
    }
    Ok(blocks)
}

/// A list from line `*i` on; continuation lines lose a fixed width (the
/// marker and its space: 2 unordered, 3 ordered).
fn parse_list(lines: &[&str], i: &mut usize, ordered: bool, frames: usize) -> Result<Block, TooDeep> {
    let (item_at, width): (fn(&str) -> Option<&str>, usize) = if ordered {
        (ordered_item, 3)
    } else {
        (unordered_item, 2)
    };
    let end = lines.len();
    let indent = " ".repeat(width);
    let mut items = Vec::new();
    while *i < end {
        let Some(first) = item_at(lines[*i]) else { break };
        let mut item: Vec<String> = vec![first.to_owned()];
        *i += 1;
        while *i < end && lines[*i].starts_with(&indent) && !is_blank(lines[*i]) {
            item.push(lines[*i][width..].to_owned());
            *i += 1;
        }
        while *i < end && is_blank(lines[*i]) {
            *i += 1;
            if *i < end && item_at(lines[*i]).is_none() {
                break;
            }
        }
        let refs: Vec<&str> = item.iter().map(String::as_str).collect();
        items.push(parse_blocks(&refs, frames + 1)?);
    }
    Ok(Block::List(ordered, items))
}

fn parse_table_row(line: &str, frames: usize) -> Result<Vec<Vec<Inline>>, TooDeep> {
    let mut content = trim(line);
    content = content.strip_prefix('|').unwrap_or(content);
    content = content.strip_suffix('|').unwrap_or(content);
    // Vera's `_parse_table_row` and its generator expression are two frames.
    content
        .split('|')
        .map(|cell| parse_inlines_at(trim(cell), frames + 3))
        .collect()
}

/// `_parse_inlines` over one text, with what its scans look up computed
/// once: the `]` matching each `[` and the next `)` from each position.
/// Vera searches the rest of the text for both at every bracket, which is
/// quadratic (`[[[[…`); the answers are the same, found in constant time.
/// A bracket's match is the first place its depth count returns to zero,
/// which depends only on the text after it, so a nested call over
/// `text[lo..hi]` sees the same match when it lies before `hi` and none
/// otherwise.
struct Inlines<'t> {
    text: &'t str,
    /// `(i, j)` for every `[` at byte `i` whose matching `]` is at `j`,
    /// by `i` (at most 4 bytes per byte of text, as each pair holds two).
    close: Vec<(u32, u32)>,
    /// Where every `)` is, in order.
    parens: Vec<u32>,
}

impl<'t> Inlines<'t> {
    fn new(text: &'t str) -> Inlines<'t> {
        let mut close = Vec::new();
        let mut parens = Vec::new();
        let mut open = Vec::new();
        for (i, &b) in text.as_bytes().iter().enumerate() {
            match b {
                b'[' => open.push(i as u32),
                b']' => {
                    if let Some(o) = open.pop() {
                        close.push((o, i as u32));
                    }
                }
                b')' => parens.push(i as u32),
                _ => {}
            }
        }
        close.sort_unstable();
        Inlines { text, close, parens }
    }

    /// `_find_matching_bracket` within `..hi`.
    fn matching_bracket(&self, start: usize, hi: usize) -> Option<usize> {
        let k = self.close.binary_search_by_key(&(start as u32), |&(o, _)| o).ok()?;
        let c = self.close[k].1 as usize;
        (c < hi).then_some(c)
    }

    /// `text.find(")", from)` within `..hi`.
    fn paren_from(&self, from: usize, hi: usize) -> Option<usize> {
        let k = self.parens.partition_point(|&p| (p as usize) < from);
        let p = *self.parens.get(k)? as usize;
        (p < hi).then_some(p)
    }

    /// `text.find(pat, from)` within `..hi`.
    fn find_from(&self, pat: &str, from: usize, hi: usize) -> Option<usize> {
        self.text.get(from..hi)?.find(pat).map(|i| i + from)
    }

    /// `_parse_inlines(text[lo..hi])`, the `frames`-th parser call in
    /// progress. Byte offsets stand in for Python's character offsets:
    /// every delimiter is ASCII, so each slice falls on a character
    /// boundary.
    fn parse(&self, lo: usize, hi: usize, frames: usize) -> Result<Vec<Inline>, TooDeep> {
        if frames > MAX_PARSE_FRAMES {
            return Err(TooDeep);
        }
        let text = self.text;
        let bytes = text.as_bytes();
        let n = hi;
        let mut out = Vec::new();
        let mut buf = String::new();
        let flush = |buf: &mut String, out: &mut Vec<Inline>| {
            if !buf.is_empty() {
                out.push(Inline::Text(std::mem::take(buf)));
            }
        };
        let mut i = lo;
        while i < n {
            if parse_step_out_of_time() {
                return Err(TooDeep);
            }
            let ch = bytes[i];
            if ch == b'`' {
                let start = i;
                while i < n && bytes[i] == b'`' {
                    i += 1;
                }
                let fence = &text[start..i];
                if let Some(close) = self.find_from(fence, i, n) {
                    flush(&mut buf, &mut out);
                    let mut code = &text[i..close];
                    if code.len() >= 2 && code.starts_with(' ') && code.ends_with(' ') {
                        code = &code[1..code.len() - 1];
                    }
                    out.push(Inline::Code(code.to_owned()));
                    i = close + fence.len();
                } else {
                    buf.push_str(fence);
                }
                continue;
            }
            if ch == b'!' && i + 1 < n && bytes[i + 1] == b'[' {
                if let Some(cb) = self.matching_bracket(i + 1, n) {
                    if cb + 1 < n && bytes[cb + 1] == b'(' {
                        if let Some(cp) = self.paren_from(cb + 2, n) {
                            flush(&mut buf, &mut out);
                            out.push(Inline::Image(text[i + 2..cb].to_owned(), text[cb + 2..cp].to_owned()));
                            i = cp + 1;
                            continue;
                        }
                    }
                }
                buf.push('!');
                i += 1;
                continue;
            }
            if ch == b'[' {
                if let Some(cb) = self.matching_bracket(i, n) {
                    if cb + 1 < n && bytes[cb + 1] == b'(' {
                        if let Some(cp) = self.paren_from(cb + 2, n) {
                            flush(&mut buf, &mut out);
                            let kids = self.parse(i + 1, cb, frames + 1)?;
                            out.push(Inline::Link(kids, text[cb + 2..cp].to_owned()));
                            i = cp + 1;
                            continue;
                        }
                    }
                }
                buf.push('[');
                i += 1;
                continue;
            }
            if ch == b'*' || ch == b'_' {
                let delim = &text[i..i + 1];
                let start = i;
                while i < n && bytes[i] == ch {
                    i += 1;
                }
                let mut run = i - start;
                if run >= 2 {
                    let double = delim.repeat(2);
                    if let Some(close) = self.find_from(&double, i, n) {
                        flush(&mut buf, &mut out);
                        out.push(Inline::Strong(self.parse(i, close, frames + 1)?));
                        i = close + 2;
                        let remaining = run - 2;
                        if remaining > 0 {
                            let single = self.find_from(delim, i, n);
                            match single {
                                Some(cs) if remaining == 1 => {
                                    out.push(Inline::Emph(self.parse(i, cs, frames + 1)?));
                                    i = cs + 1;
                                }
                                _ => buf.push_str(&delim.repeat(remaining)),
                            }
                        }
                        continue;
                    }
                    i = start + 1;
                    run = 1;
                }
                if run == 1 {
                    if let Some(close) = self.find_from(delim, i, n) {
                        flush(&mut buf, &mut out);
                        out.push(Inline::Emph(self.parse(i, close, frames + 1)?));
                        i = close + 1;
                    } else {
                        buf.push_str(delim);
                    }
                    continue;
                }
            }
            let c = text[i..].chars().next().unwrap_or('\u{fffd}');
            buf.push(c);
            i += c.len_utf8();
        }
        flush(&mut buf, &mut out);
        Ok(out)
    }
}

/// `_parse_inlines`: code spans, images, links, strong, emphasis, text.
pub fn parse_inlines(text: &str) -> Result<Vec<Inline>, TooDeep> {
    parse_inlines_at(text, 1)
}

fn parse_inlines_at(text: &str, frames: usize) -> Result<Vec<Inline>, TooDeep> {
    Inlines::new(text).parse(0, text.len(), frames)
}

// ---------------------------------------------------------------------
// Renderer and queries
// ---------------------------------------------------------------------

pub fn render_markdown(block: &Block) -> String {
    render_block(block).join("\n")
}

fn render_block(block: &Block) -> Vec<String> {
    match block {
        Block::Document(kids) => {
            let mut out: Vec<String> = Vec::new();
            for kid in kids {
                let lines = render_block(kid);
                if lines.is_empty() {
                    continue;
                }
                if !out.is_empty() {
                    out.push(String::new());
                }
                out.extend(lines);
            }
            out
        }
        Block::Paragraph(kids) => vec![render_inlines(kids)],
        Block::Heading(level, kids) => {
            vec![format!(
                "{} {}",
                "#".repeat((*level).max(0) as usize),
                render_inlines(kids)
            )]
        }
        Block::CodeBlock(lang, code) => {
            let mut out = vec![format!("```{lang}")];
            out.extend(code.split('\n').map(str::to_owned));
            out.push("```".to_owned());
            out
        }
        Block::BlockQuote(kids) => {
            if kids.is_empty() {
                return vec![">".to_owned()];
            }
            let mut out: Vec<String> = Vec::new();
            for (i, kid) in kids.iter().enumerate() {
                let lines = render_block(kid);
                if lines.is_empty() {
                    continue;
                }
                if i > 0 && !out.is_empty() {
                    out.push(">".to_owned());
                }
                for line in lines {
                    out.push(if line.is_empty() {
                        ">".to_owned()
                    } else {
                        format!("> {line}")
                    });
                }
            }
            out
        }
        Block::List(ordered, items) => {
            let mut out = Vec::new();
            for (idx, item) in items.iter().enumerate() {
                let marker = if *ordered {
                    format!("{}.", idx + 1)
                } else {
                    "-".to_owned()
                };
                let lines: Vec<String> = item.iter().flat_map(render_block).collect();
                if lines.is_empty() {
                    out.push(format!("{marker} "));
                    continue;
                }
                let indent = " ".repeat(marker.chars().count() + 1);
                for (j, line) in lines.into_iter().enumerate() {
                    out.push(if j == 0 {
                        format!("{marker} {line}")
                    } else {
                        format!("{indent}{line}")
                    });
                }
            }
            out
        }
        Block::ThematicBreak => vec!["---".to_owned()],
        Block::Table(rows) => {
            let Some(header) = rows.first() else { return Vec::new() };
            let row = |cells: &Vec<Vec<Inline>>| {
                let cells: Vec<String> = cells.iter().map(|c| render_inlines(c)).collect();
                format!("| {} |", cells.join(" | "))
            };
            let mut out = vec![row(header)];
            out.push(format!("| {} |", vec!["---"; header.len()].join(" | ")));
            out.extend(rows[1..].iter().map(row));
            out
        }
    }
}

fn render_code_span(code: &str) -> String {
    let (mut longest, mut run) = (0, 0);
    for ch in code.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let strips = code.chars().count() >= 2 && code.starts_with(' ') && code.ends_with(' ');
    let pad = if code.starts_with('`') || code.ends_with('`') || strips {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{code}{pad}{fence}")
}

fn render_inlines(items: &[Inline]) -> String {
    let mut out = String::new();
    for item in items {
        match item {
            Inline::Text(t) => out.push_str(t),
            Inline::Code(c) => out.push_str(&render_code_span(c)),
            Inline::Emph(k) => out.push_str(&format!("*{}*", render_inlines(k))),
            Inline::Strong(k) => out.push_str(&format!("**{}**", render_inlines(k))),
            Inline::Link(k, url) => out.push_str(&format!("[{}]({url})", render_inlines(k))),
            Inline::Image(alt, src) => out.push_str(&format!("![{alt}]({src})")),
        }
    }
    out
}

/// The blocks a query descends into (documents, quotes, list items).
fn children(block: &Block) -> Vec<&Block> {
    match block {
        Block::Document(k) | Block::BlockQuote(k) => k.iter().collect(),
        Block::List(_, items) => items.iter().flatten().collect(),
        _ => Vec::new(),
    }
}

pub fn has_heading(block: &Block, level: i64) -> bool {
    match block {
        Block::Heading(l, _) => *l == level,
        _ => children(block).into_iter().any(|b| has_heading(b, level)),
    }
}

pub fn has_code_block(block: &Block, lang: &str) -> bool {
    match block {
        Block::CodeBlock(l, _) => l == lang,
        _ => children(block).into_iter().any(|b| has_code_block(b, lang)),
    }
}

pub fn collect_code(block: &Block, lang: &str, acc: &mut Vec<String>) {
    match block {
        Block::CodeBlock(l, code) => {
            if l == lang {
                acc.push(code.clone());
            }
        }
        _ => children(block).into_iter().for_each(|b| collect_code(b, lang, acc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vera_layout::test_heap::TestHeap;

    #[test]
    fn inline_scanner_matches_reference() {
        use Inline::*;
        assert_eq!(
            parse_inlines("a **b** *c* `d` [e](f) ![g](h)").unwrap(),
            vec![
                Text("a ".into()),
                Strong(vec![Text("b".into())]),
                Text(" ".into()),
                Emph(vec![Text("c".into())]),
                Text(" ".into()),
                Code("d".into()),
                Text(" ".into()),
                Link(vec![Text("e".into())], "f".into()),
                Text(" ".into()),
                Image("g".into(), "h".into()),
            ]
        );
        assert_eq!(parse_inlines("é_").unwrap(), vec![Text("é_".into())]);
    }

    #[test]
    fn blocks_round_trip_through_render() {
        let src = "# T\n\n- a\n  - b\n1. x\n\n> q\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rs\nfn\n```";
        let doc = parse_markdown(src).unwrap();
        let again = parse_markdown(&render_markdown(&doc)).unwrap();
        assert_eq!(doc, again);
    }

    #[test]
    fn guest_layout_round_trips() {
        let doc = parse_markdown("# H *e*\n\n- a\n\n| x |\n|---|\n\n```py\nprint()\n```\n---\n![a](b) [l](u)").unwrap();
        let mut heap = TestHeap::stressed();
        let ptr = write_block(&mut heap, &doc).unwrap();
        assert_eq!(
            read_block(
                heap.memory(),
                ptr,
                &mut TreeBudget::new(heap.memory().len(), usize::MAX)
            )
            .unwrap(),
            doc
        );
    }

    #[test]
    fn nesting_stops_where_vera_0_2_3_does() {
        let quotes = |n: usize| format!("{} x", ">".repeat(n));
        // 486 quotes write (976 frames), 487 trap in the writer, 984 are
        // the parser's Err; none of it recurses deeper than that here.
        assert_eq!(write_frames(&parse_markdown(&quotes(486)).unwrap()), 976);
        assert_eq!(write_frames(&parse_markdown(&quotes(487)).unwrap()), 978);
        assert!(parse_markdown(&quotes(983)).is_ok());
        assert_eq!(parse_markdown(&quotes(984)), Err(TooDeep));
        assert_eq!(parse_markdown(&quotes(20000)), Err(TooDeep));
        let lists = |n: usize| format!("{}x", "- ".repeat(n));
        assert_eq!(write_frames(&parse_markdown(&lists(324)).unwrap()), 976);
        assert_eq!(write_frames(&parse_markdown(&lists(325)).unwrap()), 979);
        assert_eq!(parse_markdown(&lists(984)), Err(TooDeep));
        let links = |n: usize| format!("{}x{}", "[".repeat(n), "](u)".repeat(n));
        assert_eq!(write_frames(&parse_markdown(&links(486)).unwrap()), 976);
        assert!(parse_markdown(&links(983)).is_ok());
        assert_eq!(parse_markdown(&links(984)), Err(TooDeep));
        assert_eq!(parse_markdown(&links(30000)), Err(TooDeep));
    }

    #[test]
    fn bracket_tables_answer_as_the_scan_did() {
        use Inline::*;
        let wide = "[".repeat(100_000);
        assert_eq!(parse_inlines(&wide).unwrap(), vec![Text(wide.clone())]);
        // A `]` beyond the nested text's end is no match there.
        assert_eq!(
            parse_inlines("*[a*](u) [b](c)").unwrap(),
            vec![
                Emph(vec![Text("[a".into())]),
                Text("](u) ".into()),
                Link(vec![Text("b".into())], "c".into()),
            ]
        );
        assert_eq!(
            parse_inlines("[a [b](c) d](e) ![x](y").unwrap(),
            vec![
                Link(
                    vec![
                        Text("a ".into()),
                        Link(vec![Text("b".into())], "c".into()),
                        Text(" d".into())
                    ],
                    "e".into()
                ),
                Text(" ![x](y".into()),
            ]
        );
    }

    #[test]
    fn a_parse_past_the_deadline_gives_up() {
        let text = "word *x* ".repeat(100_000);
        crate::bounds::set_parse_deadline(Some(std::time::Instant::now()));
        assert_eq!(parse_markdown(&text), Err(TooDeep));
        crate::bounds::set_parse_deadline(None);
        assert!(parse_markdown(&text).is_ok());
    }
}
