//! The host families `browser/runtime.mjs` computes here, with the CLI's
//! code (`vera_families`): regex, Markdown, HTML, JSON, Decimal,
//! `repr(float)`, and HTTP's URL rules and texts (runtime.mjs does the
//! fetching). Each import is one
//! [`Op`]: its arguments come in as [`wire`](crate::wire) values (strings,
//! and the guest trees runtime.mjs read), and its answer goes out as the
//! value the import returns, which runtime.mjs builds in guest memory, or
//! as the trap that ends the run instead.

use std::cmp::Ordering;

use vera_families::bounds::Meter;
use vera_families::decimal::{Dec as Decimal, WIDE};
use vera_families::format::python_float_repr;
use vera_families::html::{self, Node};
use vera_families::http;
use vera_families::json::{self, JVal, Parsed};
use vera_families::md::{self, Block, Inline};
use vera_families::regex;
use vera_families::Stop;
use vera_layout::values::{self, ERR, NONE, OK, SOME};

use crate::wire::{self, Dec, DecResult, Enc};
use vera_layout::collection::{self, Kind};
use vera_layout::test_heap::TestHeap;
use vera_layout::{mem, Field, Heap, Tag};

/// The imports the core answers, by number (`vera_core_call`'s `op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    RegexMatch = 1,
    RegexFind = 2,
    RegexFindAll = 3,
    RegexReplace = 4,
    MdParse = 10,
    MdRender = 11,
    MdHasHeading = 12,
    MdHasCodeBlock = 13,
    MdExtractCodeBlocks = 14,
    HtmlParse = 20,
    HtmlToString = 21,
    HtmlText = 22,
    HtmlQuery = 23,
    HttpCheck = 30,
    HttpJoin = 31,
    HttpStatus = 32,
    FloatRepr = 40,
    DecimalFromInt = 41,
    DecimalFromFloat = 42,
    DecimalFromString = 43,
    DecimalToString = 44,
    DecimalToFloat = 45,
    DecimalAdd = 46,
    DecimalSub = 47,
    DecimalMul = 48,
    DecimalDiv = 49,
    DecimalNeg = 50,
    DecimalAbs = 51,
    DecimalRound = 52,
    DecimalCompare = 53,
    DecimalEq = 54,
    JsonParse = 60,
    JsonStringify = 61,
}

impl Op {
    pub const ALL: [Op; 33] = [
        Op::RegexMatch,
        Op::RegexFind,
        Op::RegexFindAll,
        Op::RegexReplace,
        Op::MdParse,
        Op::MdRender,
        Op::MdHasHeading,
        Op::MdHasCodeBlock,
        Op::MdExtractCodeBlocks,
        Op::HtmlParse,
        Op::HtmlToString,
        Op::HtmlText,
        Op::HtmlQuery,
        Op::HttpCheck,
        Op::HttpJoin,
        Op::HttpStatus,
        Op::FloatRepr,
        Op::DecimalFromInt,
        Op::DecimalFromFloat,
        Op::DecimalFromString,
        Op::DecimalToString,
        Op::DecimalToFloat,
        Op::DecimalAdd,
        Op::DecimalSub,
        Op::DecimalMul,
        Op::DecimalDiv,
        Op::DecimalNeg,
        Op::DecimalAbs,
        Op::DecimalRound,
        Op::DecimalCompare,
        Op::DecimalEq,
        Op::JsonParse,
        Op::JsonStringify,
    ];
    pub fn of(n: u32) -> Option<Op> {
        Op::ALL.into_iter().find(|&op| op as u32 == n)
    }
}

/// How a call ended: the first byte of its result, before the value or
/// the message (UTF-8).
pub const ANSWER: u8 = 0;
/// A trap of Python's raising (`Stop::Refused`): the message follows.
pub const REFUSED: u8 = 1;
/// A resource limit (`Stop::Limit`): the message follows.
pub const LIMIT: u8 = 2;
/// The input was not what the op takes (a bug of runtime.mjs): the message follows.
pub const BAD_INPUT: u8 = 3;

/// Runs `op` on `input`; the result starts with [`ANSWER`], [`REFUSED`],
/// [`LIMIT`] or [`BAD_INPUT`].
pub fn call(op: u32, input: &[u8]) -> Vec<u8> {
    let mut out = Enc::default();
    out.0.push(ANSWER);
    let ended = match Op::of(op) {
        None => Err(Ended::BadInput(format!("no op {op}"))),
        Some(op) => answer(op, &mut Dec::new(input), &mut out),
    };
    match ended {
        Ok(()) => out.0,
        Err(e) => {
            let (status, message) = match e {
                Ended::Stop(Stop::Refused(m)) => (REFUSED, m),
                Ended::Stop(Stop::Limit(m)) => (LIMIT, m),
                Ended::BadInput(m) => (BAD_INPUT, m),
            };
            let mut bytes = vec![status];
            bytes.extend_from_slice(message.as_bytes());
            bytes
        }
    }
}

enum Ended {
    Stop(Stop),
    BadInput(String),
}

impl From<String> for Ended {
    fn from(e: String) -> Ended {
        Ended::BadInput(e)
    }
}

impl From<Stop> for Ended {
    fn from(e: Stop) -> Ended {
        Ended::Stop(e)
    }
}

fn answer(op: Op, d: &mut Dec<'_>, out: &mut Enc) -> Result<(), Ended> {
    match op {
        Op::RegexMatch | Op::RegexFind | Op::RegexFindAll | Op::RegexReplace => {
            let (input, pattern) = (d.str()?, d.str()?);
            let repl = if op == Op::RegexReplace {
                d.str()?
            } else {
                String::new()
            };
            d.end()?;
            let op = match op {
                Op::RegexMatch => regex::Op::Match,
                Op::RegexFind => regex::Op::Find,
                Op::RegexFindAll => regex::Op::FindAll,
                _ => regex::Op::Replace,
            };
            let meter = Meter::new(vera_families::bounds::host_memory(), None);
            regex_answer(out, regex::answer(op, &input, &pattern, &repl, meter)?);
        }
        Op::MdParse => {
            let text = d.str()?;
            d.end()?;
            match md::parse_markdown(&text) {
                Err(md::TooDeep) => out.adt_str(ERR, md::PARSE_RECURSION),
                Ok(doc) => {
                    if md::write_frames(&doc) > md::MAX_WRITE_FRAMES {
                        return Err(Stop::Refused(md::WRITE_RECURSION.to_owned()).into());
                    }
                    out.adt_word(OK);
                    md_block(out, &doc);
                }
            }
        }
        Op::MdRender => {
            let doc = read_md_block(d)?;
            d.end()?;
            out.str(&md::render_markdown(&doc));
        }
        Op::MdHasHeading => {
            let doc = read_md_block(d)?;
            let level = d.wide()? as i64;
            d.end()?;
            out.word(md::has_heading(&doc, level) as u32);
        }
        Op::MdHasCodeBlock | Op::MdExtractCodeBlocks => {
            let doc = read_md_block(d)?;
            let lang = d.str()?;
            d.end()?;
            if op == Op::MdHasCodeBlock {
                out.word(md::has_code_block(&doc, &lang) as u32);
            } else {
                let mut found = Vec::new();
                md::collect_code(&doc, &lang, &mut found);
                out.array(8, found.len());
                for s in &found {
                    out.str(s);
                }
            }
        }
        Op::HtmlParse => {
            let text = d.str()?;
            d.end()?;
            match html::parse(&text) {
                Err(html::ParseError::TooDeep) => return Err(Stop::Refused(html::WRITE_RECURSION.to_owned()).into()),
                Err(html::ParseError::Err(e)) => out.adt_str(ERR, &e),
                Ok(node) => {
                    out.adt_word(OK);
                    html_node(out, &node);
                }
            }
        }
        Op::HtmlToString | Op::HtmlText => {
            let node = read_html_node(d)?;
            d.end()?;
            out.str(&if op == Op::HtmlText {
                html::text_of(&node)
            } else {
                html::to_html(&node)
            });
        }
        Op::HtmlQuery => {
            let node = read_html_node(d)?;
            let selector = d.str()?;
            d.end()?;
            let found = html::query(&node, &selector);
            out.array(4, found.len());
            for n in found {
                html_node(out, n);
            }
        }
        Op::HttpCheck => {
            // What the CLI's Http.get / Http.post decide before connecting:
            // a trap (urlparse raised), the Err text, or "" (fetch it).
            let (op, url) = (d.str()?, d.str()?);
            d.end()?;
            if let Some(raised) = http::parse_failure(&url) {
                return Err(Stop::Refused(raised).into());
            }
            out.str(&if !http::is_http_url(&url) {
                http::refused(&op)
            } else {
                http::precheck(&url).unwrap_or_default()
            });
        }
        Op::HttpJoin => {
            let (base, location) = (d.str()?, d.str()?);
            d.end()?;
            out.str(&http::join(&base, &location));
        }
        Op::HttpStatus => {
            let code = d.word()?;
            d.end()?;
            out.str(&http::status_error(code.min(u16::MAX as u32) as u16));
        }
        Op::JsonParse => {
            let text = d.str()?;
            d.end()?;
            match json::parse(&text) {
                Parsed::Ok(v) => {
                    out.adt_word(OK);
                    json_value(out, &v);
                }
                Parsed::Err(message) => out.adt_str(ERR, &message),
                Parsed::Trap(message) => return Err(Stop::Refused(message).into()),
            }
        }
        Op::JsonStringify => {
            // The tree is built again on a heap of the core's own, in the
            // guest's layouts, and written by the CLI's own emitter.
            let mut heap = TestHeap::new();
            let root = build(&mut heap, d)?;
            d.end()?;
            let Item::Word(ptr) = root else {
                return Err(Ended::BadInput("a Json value is a block".into()));
            };
            match json::stringify_document(&mut heap, ptr, usize::MAX) {
                // Text or its bytes, whichever the emitter gives.
                Ok(text) => out.str_bytes(AsRef::<[u8]>::as_ref(&text)),
                Err(json::StringifyError::Refused(message)) => return Err(Stop::Refused(message).into()),
                Err(json::StringifyError::Guest(e)) => return Err(Ended::BadInput(e.to_string())),
                Err(json::StringifyError::TooLong) => return Err(Ended::BadInput("output too long".into())),
            }
        }
        Op::FloatRepr => {
            let bits = d.wide()?;
            d.end()?;
            out.str(&python_float_repr(f64::from_bits(bits)));
        }
        _ => decimal(op, d, out)?,
    }
    Ok(())
}

/// `decimal_*` over values runtime.mjs keeps by handle, each as the
/// encoding [`write_dec`] gave it: the arithmetic is the CLI's
/// (`vera_families::decimal`, Vera's wide context); a signal the context
/// traps ends the run with Python's text.
fn decimal(op: Op, d: &mut Dec<'_>, out: &mut Enc) -> Result<(), Ended> {
    let trapped = |s: vera_families::decimal::Signal| Ended::Stop(Stop::Refused(s.message()));
    match op {
        Op::DecimalFromInt => write_dec(out, &Decimal::from_i64(d.wide()? as i64)),
        Op::DecimalFromFloat => write_dec(out, &Decimal::from_f64(f64::from_bits(d.wide()?))),
        Op::DecimalFromString => match Decimal::parse(&d.str()?) {
            Some(v) => write_dec(out, &v),
            None => out.word(0),
        },
        Op::DecimalToString => out.str(&read_dec(d)?.to_python_string()),
        Op::DecimalToFloat => out.wide(read_dec(d)?.to_f64().to_bits()),
        Op::DecimalAdd | Op::DecimalSub | Op::DecimalMul | Op::DecimalDiv => {
            let (x, y) = (read_dec(d)?, read_dec(d)?);
            let r = match op {
                Op::DecimalAdd => x.add(&y, WIDE),
                Op::DecimalSub => x.sub(&y, WIDE),
                Op::DecimalMul => x.mul(&y, WIDE),
                _ if y.is_zero() => {
                    d.end()?;
                    out.word(0);
                    return Ok(());
                }
                _ => x.div(&y, WIDE),
            };
            write_dec(out, &r.map_err(trapped)?);
        }
        Op::DecimalNeg => write_dec(out, &read_dec(d)?.neg(WIDE).map_err(trapped)?),
        Op::DecimalAbs => write_dec(out, &read_dec(d)?.abs(WIDE).map_err(trapped)?),
        Op::DecimalRound => {
            let x = read_dec(d)?;
            write_dec(out, &x.round(d.wide()? as i64));
        }
        Op::DecimalCompare => {
            let (x, y) = (read_dec(d)?, read_dec(d)?);
            out.word(match x.compare(&y).map_err(trapped)? {
                Ordering::Less => 0,
                Ordering::Equal => 1,
                Ordering::Greater => 2,
            });
        }
        Op::DecimalEq => {
            let (x, y) = (read_dec(d)?, read_dec(d)?);
            out.word(x.equals(&y) as u32);
        }
        _ => unreachable!("every other op is answered by `answer`"),
    }
    Ok(())
}

/// A Decimal as a block: tag 0 finite (sign word, exponent, coefficient
/// digits), 1 infinite (sign word), 2 NaN.
fn write_dec(out: &mut Enc, v: &Decimal) {
    match v {
        Decimal::Finite { neg, coef, exp } => {
            out.block(0, 0, 3);
            out.field(0);
            out.word(*neg as u32);
            out.field(0);
            out.wide(*exp as u64);
            out.field(0);
            out.str(&coef.to_string());
        }
        Decimal::Inf { neg } => {
            out.block(0, 1, 1);
            out.field(0);
            out.word(*neg as u32);
        }
        Decimal::NaN => out.block(0, 2, 0),
    }
}

fn read_dec(d: &mut Dec<'_>) -> DecResult<Decimal> {
    let (tag, n) = d.block()?;
    let bad = || format!("Decimal tag {tag} with {n} fields");
    match (tag, n) {
        (0, 3) => {
            d.field()?;
            let neg = d.word()? != 0;
            d.field()?;
            let exp = d.wide()? as i64;
            d.field()?;
            let coef = d.str()?.parse().map_err(|_| bad())?;
            Ok(Decimal::Finite { neg, coef, exp })
        }
        (1, 1) => {
            d.field()?;
            Ok(Decimal::Inf { neg: d.word()? != 0 })
        }
        (2, 0) => Ok(Decimal::NaN),
        _ => Err(bad()),
    }
}

/// A value [`build`] made: a word (or pointer), a (ptr, len) pair, a wide value.
#[derive(Clone, Copy)]
enum Item {
    Word(u32),
    Pair(u32, u32),
    Wide(u64),
}

impl Item {
    fn field(self) -> Field {
        match self {
            Item::Word(w) => Field::word(w),
            Item::Pair(p, l) => Field::str(p, l),
            Item::Wide(v) => Field(v),
        }
    }
}

fn guest(e: vera_layout::GuestError) -> String {
    e.to_string()
}

/// Builds the wire value at `d` on `heap` in the guest's layouts, as
/// runtime.mjs's `buildWire` builds it in guest memory. A block read from
/// guest memory comes without its size: it gets room for its fields.
fn build(heap: &mut TestHeap, d: &mut Dec<'_>) -> DecResult<Item> {
    match d.peek() {
        Some(wire::STR) => {
            let text = d.str()?;
            let (p, l) = values::alloc_str(heap, text.as_bytes()).map_err(guest)?;
            Ok(Item::Pair(p, l))
        }
        Some(wire::WORD) => Ok(Item::Word(d.word()?)),
        Some(wire::WIDE) => Ok(Item::Wide(d.wide()?)),
        Some(wire::BLOCK) => {
            let (tag, n) = d.block()?;
            let mut fields = Vec::new();
            for _ in 0..n {
                let offset = d.field()?;
                fields.push((offset, build(heap, d)?));
            }
            let size = fields.iter().map(|&(o, _)| o + 8).fold(8, u32::max);
            let ptr = values::alloc_block(heap, size, tag, &[], &[]).map_err(guest)?;
            for (offset, item) in fields {
                mem::write_u64(heap.memory_mut(), ptr + offset, item.field().0).map_err(guest)?;
            }
            Ok(Item::Word(ptr))
        }
        Some(wire::ARRAY) => {
            let (cell, n) = d.array_cells()?;
            if !matches!(cell, 1 | 4 | 8) {
                return Err(format!("array cells of {cell} bytes"));
            }
            let items = (0..n).map(|_| build(heap, d)).collect::<DecResult<Vec<_>>>()?;
            if n == 0 {
                return Ok(Item::Pair(0, 0));
            }
            let size = n.checked_mul(cell).ok_or_else(|| format!("an array of {n} cells"))?;
            let ptr = heap.alloc(size).map_err(guest)?;
            for (i, item) in items.into_iter().enumerate() {
                let bytes = item.field().0.to_le_bytes();
                mem::write_bytes(heap.memory_mut(), ptr + cell * i as u32, &bytes[..cell as usize]).map_err(guest)?;
            }
            Ok(Item::Pair(ptr, n))
        }
        Some(wire::MAP) => {
            let n = d.map()?;
            let mut entries = Vec::new();
            for _ in 0..n {
                let k = build(heap, d)?.field();
                entries.push((k, build(heap, d)?.field()));
            }
            // A bucket, as the CLI builds a JObject's map for a 0.2.3 module.
            let w = collection::from_entries(heap, Kind::Map, Tag::Str, &entries).map_err(guest)?;
            Ok(Item::Word(w))
        }
        k => Err(format!("expected a value, found kind {k:?}")),
    }
}

/// A parsed JSON document in the layouts of `vera_families::json::build`
/// (`Json`: JNull 0, JBool 1, JNumber 2, JString 3, JArray 4, JObject 5
/// over a `Map<String, Json>`). A document `json::parse` accepts holds no
/// lone surrogate, so its strings are their text.
fn json_value(out: &mut Enc, v: &JVal) {
    match v {
        JVal::Null => out.block(8, 0, 0),
        JVal::Bool(b) => {
            out.block(8, 1, 1);
            out.field(4);
            out.word(*b as u32);
        }
        JVal::Num(x) => {
            out.block(16, 2, 1);
            out.field(8);
            out.wide(x.to_bits());
        }
        JVal::Str(s) => out.adt_str(3, &s.text()),
        JVal::Arr(items) => {
            out.adt_pair(4);
            out.array(4, items.len());
            for item in items {
                json_value(out, item);
            }
        }
        JVal::Obj(pairs) => {
            out.adt_word(5);
            out.map(b'b', pairs.len());
            for (k, v) in pairs {
                out.str(&k.text());
                json_value(out, v);
            }
        }
    }
}

/// `regex_*`'s `Result`, as `vera_families::regex::alloc_answer` builds it.
fn regex_answer(out: &mut Enc, result: Result<regex::Answer, String>) {
    match result {
        Err(e) => out.adt_str(ERR, &e),
        Ok(regex::Answer::Match(b)) => {
            out.adt_word(OK);
            out.word(b as u32);
        }
        Ok(regex::Answer::Find(m)) => {
            out.adt_word(OK);
            match m {
                Some(text) => out.adt_str(SOME, &text),
                None => out.adt_empty(NONE),
            }
        }
        Ok(regex::Answer::FindAll(items)) => {
            out.adt_pair(OK);
            out.array(8, items.len());
            for s in &items {
                out.str(s);
            }
        }
        Ok(regex::Answer::Replace(text)) => out.adt_str(OK, &text),
    }
}

// ---------------------------------------------------------------------
// Markdown trees, in the layouts of `vera_families::md::write_block`
// ---------------------------------------------------------------------

fn md_inlines(out: &mut Enc, items: &[Inline]) {
    out.array(4, items.len());
    for i in items {
        md_inline(out, i);
    }
}

fn md_blocks(out: &mut Enc, items: &[Block]) {
    out.array(4, items.len());
    for b in items {
        md_block(out, b);
    }
}

fn md_inline(out: &mut Enc, inline: &Inline) {
    match inline {
        Inline::Text(s) | Inline::Code(s) => {
            out.block(16, if matches!(inline, Inline::Text(_)) { 0 } else { 1 }, 1);
            out.field(4);
            out.str(s);
        }
        Inline::Emph(kids) | Inline::Strong(kids) => {
            out.block(16, if matches!(inline, Inline::Emph(_)) { 2 } else { 3 }, 1);
            out.field(4);
            md_inlines(out, kids);
        }
        Inline::Link(kids, url) => {
            out.block(24, 4, 2);
            out.field(4);
            md_inlines(out, kids);
            out.field(12);
            out.str(url);
        }
        Inline::Image(alt, src) => {
            out.block(24, 5, 2);
            out.field(4);
            out.str(alt);
            out.field(12);
            out.str(src);
        }
    }
}

fn md_block(out: &mut Enc, block: &Block) {
    match block {
        Block::Paragraph(kids) => {
            out.block(16, 0, 1);
            out.field(4);
            md_inlines(out, kids);
        }
        Block::Heading(level, kids) => {
            out.block(24, 1, 2);
            out.field(8);
            out.wide(*level as u64);
            out.field(16);
            md_inlines(out, kids);
        }
        Block::CodeBlock(lang, code) => {
            out.block(24, 2, 2);
            out.field(4);
            out.str(lang);
            out.field(12);
            out.str(code);
        }
        Block::BlockQuote(kids) | Block::Document(kids) => {
            out.block(16, if matches!(block, Block::BlockQuote(_)) { 3 } else { 7 }, 1);
            out.field(4);
            md_blocks(out, kids);
        }
        Block::List(ordered, items) => {
            out.block(16, 4, 2);
            out.field(4);
            out.word(*ordered as u32);
            out.field(8);
            out.array(8, items.len());
            for item in items {
                md_blocks(out, item);
            }
        }
        Block::ThematicBreak => out.block(8, 5, 0),
        Block::Table(rows) => {
            out.block(16, 6, 1);
            out.field(4);
            out.array(8, rows.len());
            for row in rows {
                out.array(8, row.len());
                for cell in row {
                    md_inlines(out, cell);
                }
            }
        }
    }
}

/// Reads an array's elements with `each`.
fn items<T>(d: &mut Dec<'_>, mut each: impl FnMut(&mut Dec<'_>) -> DecResult<T>) -> DecResult<Vec<T>> {
    let n = d.array()?;
    (0..n).map(|_| each(d)).collect()
}

/// A block's fields, after checking it has `n`.
fn fields(what: &str, tag: u32, got: u32, want: u32) -> DecResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} tag {tag} with {got} fields, not {want}"))
    }
}

fn read_md_inline(d: &mut Dec<'_>) -> DecResult<Inline> {
    let (tag, n) = d.block()?;
    let want = match tag {
        0..=3 => 1,
        4 | 5 => 2,
        _ => return Err(format!("unknown MdInline tag {tag}")),
    };
    fields("MdInline", tag, n, want)?;
    d.field()?;
    Ok(match tag {
        0 => Inline::Text(d.str()?),
        1 => Inline::Code(d.str()?),
        2 => Inline::Emph(items(d, read_md_inline)?),
        3 => Inline::Strong(items(d, read_md_inline)?),
        4 => {
            let kids = items(d, read_md_inline)?;
            d.field()?;
            Inline::Link(kids, d.str()?)
        }
        _ => {
            let alt = d.str()?;
            d.field()?;
            Inline::Image(alt, d.str()?)
        }
    })
}

/// An `MdBlock` tree as runtime.mjs's `readMd` encodes it.
pub fn read_md_block(d: &mut Dec<'_>) -> DecResult<Block> {
    let (tag, n) = d.block()?;
    let want = match tag {
        0 | 3 | 6 | 7 => 1,
        1 | 2 | 4 => 2,
        5 => 0,
        _ => return Err(format!("unknown MdBlock tag {tag}")),
    };
    fields("MdBlock", tag, n, want)?;
    if tag == 5 {
        return Ok(Block::ThematicBreak);
    }
    d.field()?;
    Ok(match tag {
        0 => Block::Paragraph(items(d, read_md_inline)?),
        1 => {
            let level = d.wide()? as i64;
            d.field()?;
            Block::Heading(level, items(d, read_md_inline)?)
        }
        2 => {
            let lang = d.str()?;
            d.field()?;
            Block::CodeBlock(lang, d.str()?)
        }
        3 => Block::BlockQuote(items(d, read_md_block)?),
        4 => {
            let ordered = d.word()? != 0;
            d.field()?;
            Block::List(ordered, items(d, |d| items(d, read_md_block))?)
        }
        6 => Block::Table(items(d, |d| items(d, |d| items(d, read_md_inline)))?),
        _ => Block::Document(items(d, read_md_block)?),
    })
}

// ---------------------------------------------------------------------
// HTML trees, in the layout of `vera_families::html::write_node`
// ---------------------------------------------------------------------

fn html_node(out: &mut Enc, node: &Node) {
    match node {
        Node::Element { name, attrs, children } => {
            out.block(24, 0, 3);
            out.field(4);
            out.str(name);
            out.field(12);
            out.map(b's', attrs.len());
            for (k, v) in attrs {
                out.str(k);
                out.str(v);
            }
            out.field(16);
            out.array(4, children.len());
            for c in children {
                html_node(out, c);
            }
        }
        Node::Text(s) | Node::Comment(s) => {
            out.block(16, if matches!(node, Node::Text(_)) { 1 } else { 2 }, 1);
            out.field(4);
            out.str(s);
        }
    }
}

/// An `HtmlNode` tree as runtime.mjs's `readHtml` encodes it.
pub fn read_html_node(d: &mut Dec<'_>) -> DecResult<Node> {
    let (tag, n) = d.block()?;
    match tag {
        0 => {
            fields("HtmlNode", tag, n, 3)?;
            d.field()?;
            let name = d.str()?;
            d.field()?;
            let pairs = d.map()?;
            let attrs = (0..pairs).map(|_| Ok((d.str()?, d.str()?))).collect::<DecResult<_>>()?;
            d.field()?;
            let children = items(d, read_html_node)?;
            Ok(Node::Element { name, attrs, children })
        }
        1 | 2 => {
            fields("HtmlNode", tag, n, 1)?;
            d.field()?;
            let s = d.str()?;
            Ok(if tag == 1 { Node::Text(s) } else { Node::Comment(s) })
        }
        _ => Err(format!("unknown HtmlNode tag {tag}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WORD;

    fn args(strings: &[&str]) -> Vec<u8> {
        let mut e = Enc::default();
        for s in strings {
            e.str(s);
        }
        e.0
    }

    fn answer_of(op: Op, input: &[u8]) -> (u8, Vec<u8>) {
        let out = call(op as u32, input);
        (out[0], out[1..].to_vec())
    }

    #[test]
    fn op_numbers_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::of(op as u32), Some(op));
        }
        assert_eq!(Op::of(0), None);
        assert_eq!(call(99, &[])[0], BAD_INPUT);
    }

    #[test]
    fn regex_answers_are_the_clis() {
        let mut want = Enc::default();
        want.adt_word(OK);
        want.word(1);
        assert_eq!(answer_of(Op::RegexMatch, &args(&["abc", "b"])), (ANSWER, want.0));

        let mut want = Enc::default();
        want.adt_pair(OK);
        want.array(8, 3);
        for s in ["1", "22", "333"] {
            want.str(s);
        }
        assert_eq!(
            answer_of(Op::RegexFindAll, &args(&["1 22 333", r"\d+"])),
            (ANSWER, want.0)
        );

        let mut want = Enc::default();
        want.adt_word(OK);
        want.adt_empty(NONE);
        assert_eq!(answer_of(Op::RegexFind, &args(&["abc", "z"])), (ANSWER, want.0));

        // An invalid pattern: Python's message, as the CLI's answer.
        let cli = regex::answer(regex::Op::Match, "x", "(a", "", Meter::unbounded())
            .unwrap()
            .unwrap_err();
        assert!(
            cli.contains("missing ), unterminated subpattern at position 0"),
            "{cli}"
        );
        let mut want = Enc::default();
        want.adt_str(ERR, &cli);
        assert_eq!(answer_of(Op::RegexMatch, &args(&["x", "(a"])), (ANSWER, want.0));

        let mut want = Enc::default();
        want.adt_str(OK, "a-X-c");
        assert_eq!(
            answer_of(Op::RegexReplace, &args(&["a-b-c", "(b)", "X"])),
            (ANSWER, want.0)
        );
    }

    #[test]
    fn http_decisions_are_the_clis() {
        let text = |op, input: &[u8]| {
            let (status, out) = answer_of(op, input);
            let mut d = Dec::new(&out);
            (status, d.str().unwrap())
        };
        assert_eq!(
            text(Op::HttpCheck, &args(&["get", "http://127.0.0.1:1/x"])),
            (ANSWER, String::new())
        );
        assert_eq!(
            text(Op::HttpCheck, &args(&["post", "ftp://x/"])),
            (ANSWER, http::refused("post"))
        );
        assert_eq!(
            text(Op::HttpCheck, &args(&["get", "http://h/x y"])),
            (
                ANSWER,
                "URL can't contain control characters. '/x y' (found at least ' ')".into()
            )
        );
        let (status, message) = answer_of(Op::HttpCheck, &args(&["get", "http://[::1/"]));
        assert_eq!(
            (status, String::from_utf8(message).unwrap()),
            (REFUSED, "Invalid IPv6 URL".into())
        );
        assert_eq!(
            text(Op::HttpJoin, &args(&["http://h:1/a/b?q", "c"])),
            (ANSWER, "http://h:1/a/c".into())
        );
        let mut code = Enc::default();
        code.word(418);
        assert_eq!(
            text(Op::HttpStatus, &code.0),
            (ANSWER, "HTTP Error 418: I'm a Teapot".into())
        );
    }

    /// Runs a Decimal op on encoded operands and extra arguments.
    fn dec_op(op: Op, operands: &[&[u8]], extra: &[u8]) -> (u8, Vec<u8>) {
        let mut input = Vec::new();
        for o in operands {
            input.extend_from_slice(o);
        }
        input.extend_from_slice(extra);
        answer_of(op, &input)
    }

    fn dec_text(v: &[u8]) -> String {
        let (_, out) = dec_op(Op::DecimalToString, &[v], &[]);
        Dec::new(&out).str().unwrap()
    }

    #[test]
    fn decimals_are_the_clis() {
        let parse = |s: &str| dec_op(Op::DecimalFromString, &[], &args(&[s])).1;
        for s in ["1.50", "-0", "1E+5", "0.000001", "123456789012345678901234567890"] {
            assert_eq!(
                dec_text(&parse(s)),
                Decimal::parse(s).unwrap().to_python_string(),
                "{s}"
            );
        }
        assert_eq!(parse("nope"), {
            let mut w = Enc::default();
            w.word(0);
            w.0
        });
        let (a, b) = (parse("9999999999999999999999999999"), parse("0.5"));
        let (_, sum) = dec_op(Op::DecimalAdd, &[&a, &b], &[]);
        assert_eq!(dec_text(&sum), "1.000000000000000000000000000E+28");
        let (_, q) = dec_op(Op::DecimalDiv, &[&parse("1"), &parse("3")], &[]);
        assert_eq!(dec_text(&q), "0.3333333333333333333333333333");
        let (_, none) = dec_op(Op::DecimalDiv, &[&a, &parse("0.00")], &[]);
        assert_eq!(none, [WORD, 0, 0, 0, 0]);
        let mut nan = Enc::default();
        nan.wide(f64::NAN.to_bits());
        let (_, nan) = dec_op(Op::DecimalFromFloat, &[], &nan.0);
        assert_eq!(dec_text(&nan), "NaN");
        // A comparison with NaN raises InvalidOperation, which Vera does not catch.
        let (status, message) = dec_op(Op::DecimalCompare, &[&nan, &a], &[]);
        assert_eq!(
            (status, String::from_utf8(message).unwrap()),
            (REFUSED, "[<class 'decimal.InvalidOperation'>]".into())
        );
        let mut places = Enc::default();
        places.wide(1);
        let (_, r) = dec_op(Op::DecimalRound, &[&parse("2.25")], &places.0);
        assert_eq!(dec_text(&r), "2.2");
        let mut three = Enc::default();
        three.wide(1.0f64.to_bits());
        let (_, repr) = answer_of(Op::FloatRepr, &three.0);
        assert_eq!(Dec::new(&repr).str().unwrap(), "1.0");
    }

    #[test]
    fn json_parse_answers_as_the_cli() {
        let (status, out) = answer_of(Op::JsonParse, &args(&[r#"{"a": [1, true, null, "x\u00e9"], "b": {}}"#]));
        let mut want = Enc::default();
        want.adt_word(OK);
        want.adt_word(5);
        want.map(b'b', 2);
        want.str("a");
        want.adt_pair(4);
        want.array(4, 4);
        want.block(16, 2, 1);
        want.field(8);
        want.wide(1.0f64.to_bits());
        want.block(8, 1, 1);
        want.field(4);
        want.word(1);
        want.block(8, 0, 0);
        want.adt_str(3, "xé");
        want.str("b");
        want.adt_word(5);
        want.map(b'b', 0);
        assert_eq!((status, out), (ANSWER, want.0));

        let mut want = Enc::default();
        want.adt_str(ERR, "Expecting value: line 1 column 4 (char 3)");
        assert_eq!(answer_of(Op::JsonParse, &args(&["[1,]"])), (ANSWER, want.0));

        let deep = "[".repeat(1001) + &"]".repeat(1001);
        let (status, message) = answer_of(Op::JsonParse, &args(&[&deep]));
        assert_eq!(status, REFUSED);
        assert!(String::from_utf8(message)
            .unwrap()
            .starts_with("maximum recursion depth exceeded"));
    }

    #[test]
    fn json_stringify_is_the_clis_emitter() {
        // What runtime.mjs's readJson sends for a parsed document: the
        // blocks json_parse answered, without their sizes.
        let text = r#"{"b": [1.5, true, null, "q\"\u00e9"], "a": {"x": 1e21}}"#;
        let (_, parsed) = answer_of(Op::JsonParse, &args(&[text]));
        let mut d = Dec::new(&parsed);
        d.block().unwrap();
        d.field().unwrap();
        let tree = &parsed[parsed.len() - d.rest()..];
        let (status, out) = answer_of(Op::JsonStringify, tree);
        assert_eq!(status, ANSWER, "{}", String::from_utf8_lossy(&out));
        assert_eq!(
            Dec::new(&out).str().unwrap(),
            r#"{"b":[1.5,true,null,"q\"é"],"a":{"x":1e+21}}"#
        );

        let mut nan = Enc::default();
        nan.block(0, 2, 1);
        nan.field(8);
        nan.wide(f64::NAN.to_bits());
        let (status, message) = answer_of(Op::JsonStringify, &nan.0);
        assert_eq!(status, REFUSED);
        assert!(String::from_utf8(message)
            .unwrap()
            .starts_with("json_stringify: NaN is not representable"));
    }

    #[test]
    fn malformed_input_is_reported_not_a_panic() {
        let (status, message) = answer_of(Op::RegexMatch, &args(&["only one"]));
        assert_eq!(status, BAD_INPUT);
        assert!(String::from_utf8(message).unwrap().contains("input ends"));
        let (status, _) = answer_of(Op::MdRender, &[4, 0, 0]);
        assert_eq!(status, BAD_INPUT);
        let mut e = Enc::default();
        e.block(0, 9, 0);
        let (status, message) = answer_of(Op::HtmlText, &e.0);
        assert_eq!(
            (status, String::from_utf8(message).unwrap()),
            (BAD_INPUT, "unknown HtmlNode tag 9".into())
        );
    }

    const MARKDOWN: &str = "# Title *em* **strong**\n\nSome `code` and [a link](http://x/) ![alt](src.png)\n\n\
        > quoted\n> > deeper\n\n- one\n- two\n\n1. first\n2. second\n\n---\n\n\
        | a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n";

    #[test]
    fn markdown_trees_survive_the_encoding() {
        let doc = md::parse_markdown(MARKDOWN).unwrap();
        let mut e = Enc::default();
        md_block(&mut e, &doc);
        let mut d = Dec::new(&e.0);
        assert_eq!(read_md_block(&mut d).unwrap(), doc);
        d.end().unwrap();

        // md_render over the encoded tree is the CLI's rendering.
        let (status, out) = answer_of(Op::MdRender, &e.0);
        let mut want = Enc::default();
        want.str(&md::render_markdown(&doc));
        assert_eq!((status, out), (ANSWER, want.0));

        let mut input = e.0.clone();
        input.extend(args(&["rust"]));
        let (_, out) = answer_of(Op::MdExtractCodeBlocks, &input);
        let mut want = Enc::default();
        want.array(8, 1);
        want.str("fn main() {}");
        assert_eq!(out, want.0);

        let mut input = e.0.clone();
        let mut level = Enc::default();
        level.wide(1);
        input.extend(level.0);
        assert_eq!(answer_of(Op::MdHasHeading, &input).1, {
            let mut w = Enc::default();
            w.word(1);
            w.0
        });
    }

    #[test]
    fn md_parse_answers_ok_err_or_traps_as_the_cli() {
        let (status, out) = answer_of(Op::MdParse, &args(&["hello"]));
        let mut want = Enc::default();
        want.adt_word(OK);
        md_block(&mut want, &md::parse_markdown("hello").unwrap());
        assert_eq!((status, out), (ANSWER, want.0));

        let deep = ">".repeat(984) + " x";
        let (status, out) = answer_of(Op::MdParse, &args(&[&deep]));
        let mut want = Enc::default();
        want.adt_str(ERR, md::PARSE_RECURSION);
        assert_eq!((status, out), (ANSWER, want.0));
    }

    #[test]
    fn html_trees_survive_the_encoding() {
        let page = "<div id=\"a\" class=\"x y\"><p>Hi &amp; <b>there</b></p><!-- note --><br></div>";
        let node = html::parse(page).unwrap();
        let mut e = Enc::default();
        html_node(&mut e, &node);
        let mut d = Dec::new(&e.0);
        assert_eq!(read_html_node(&mut d).unwrap(), node);

        let (_, out) = answer_of(Op::HtmlToString, &e.0);
        let mut want = Enc::default();
        want.str(&html::to_html(&node));
        assert_eq!(out, want.0);

        let mut input = e.0.clone();
        input.extend(args(&["div b"]));
        let (_, out) = answer_of(Op::HtmlQuery, &input);
        let mut want = Enc::default();
        want.array(4, 1);
        html_node(&mut want, &html::query(&node, "div b")[0].clone());
        assert_eq!(out, want.0);

        // Deeper than Vera 0.2.3 writes: its RecursionError, a trap.
        let (status, message) = answer_of(Op::HtmlParse, &args(&[&"<b>".repeat(977)]));
        assert_eq!(
            (status, String::from_utf8(message).unwrap()),
            (REFUSED, html::WRITE_RECURSION.into())
        );
    }
}
