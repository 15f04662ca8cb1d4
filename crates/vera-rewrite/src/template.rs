//! Instruction templates: a stretch of Vera's generated code written out
//! one instruction a line, matched against function bodies whatever the
//! indices of the locals, globals and functions it uses.
//!
//! Vera's runtime functions (the collector, the allocator) are emitted from
//! fixed text, so the exact instruction sequence identifies them far more
//! surely than a name or an index could: one instruction different and a
//! rewrite that relies on the code's meaning leaves the module alone.

use std::collections::HashMap;

use wasmparser::{BlockType, Operator};

use crate::Error;

/// One instruction of a template, or of a function body reduced to the
/// same alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// An instruction without operands, or with a literal operand.
    Plain(&'static str, Option<i64>),
    /// An instruction whose operand is a local, global or function index.
    Index(&'static str, u32),
}

/// A template instruction: a literal, or an index bound to a name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pattern<'a> {
    Plain(&'a str, Option<i64>),
    Bound(&'a str, &'a str),
}

pub(crate) fn parse_template(text: &str) -> Vec<Pattern<'_>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once(' ') {
            None => Pattern::Plain(line, None),
            Some((op, arg)) => match arg.strip_prefix('$') {
                Some(name) => Pattern::Bound(op, name),
                None => Pattern::Plain(op, Some(literal(arg))),
            },
        })
        .collect()
}

/// A template's literal operand: decimal, or `0x` hex read as the `i32`
/// it spells (as WAT reads `i32.const 0x80000000`).
fn literal(text: &str) -> i64 {
    match text.strip_prefix("0x") {
        Some(hex) => i64::from(u32::from_str_radix(hex, 16).expect("template operand") as i32),
        None => text.parse().expect("template operand"),
    }
}

/// The token of `op` in the templates' alphabet; `None` for anything a
/// template never contains (so it never matches).
pub(crate) fn token(op: &Operator<'_>) -> Option<Token> {
    let plain_memarg = |m: &wasmparser::MemArg| m.offset == 0 && m.align == 2 && m.memory == 0;
    Some(match *op {
        Operator::LocalGet { local_index } => Token::Index("local.get", local_index),
        Operator::LocalSet { local_index } => Token::Index("local.set", local_index),
        Operator::GlobalGet { global_index } => Token::Index("global.get", global_index),
        Operator::GlobalSet { global_index } => Token::Index("global.set", global_index),
        Operator::Call { function_index } => Token::Index("call", function_index),
        Operator::I32Const { value } => Token::Plain("i32.const", Some(value.into())),
        Operator::Br { relative_depth } => Token::Plain("br", Some(relative_depth.into())),
        Operator::BrIf { relative_depth } => Token::Plain("br_if", Some(relative_depth.into())),
        Operator::Block {
            blockty: BlockType::Empty,
        } => Token::Plain("block", None),
        Operator::Loop {
            blockty: BlockType::Empty,
        } => Token::Plain("loop", None),
        Operator::If {
            blockty: BlockType::Empty,
        } => Token::Plain("if", None),
        Operator::Else => Token::Plain("else", None),
        Operator::End => Token::Plain("end", None),
        Operator::Return => Token::Plain("return", None),
        Operator::MemorySize { mem: 0 } => Token::Plain("memory.size", None),
        Operator::MemoryGrow { mem: 0 } => Token::Plain("memory.grow", None),
        Operator::Unreachable => Token::Plain("unreachable", None),
        Operator::I32Load { ref memarg } if plain_memarg(memarg) => Token::Plain("i32.load", None),
        Operator::I32Store { ref memarg } if plain_memarg(memarg) => Token::Plain("i32.store", None),
        Operator::I32Add => Token::Plain("i32.add", None),
        Operator::I32Sub => Token::Plain("i32.sub", None),
        Operator::I32And => Token::Plain("i32.and", None),
        Operator::I32Or => Token::Plain("i32.or", None),
        Operator::I32Shl => Token::Plain("i32.shl", None),
        Operator::I32ShrU => Token::Plain("i32.shr_u", None),
        Operator::I32Eq => Token::Plain("i32.eq", None),
        Operator::I32Eqz => Token::Plain("i32.eqz", None),
        Operator::I32GeU => Token::Plain("i32.ge_u", None),
        Operator::I32GtU => Token::Plain("i32.gt_u", None),
        Operator::I32LtU => Token::Plain("i32.lt_u", None),
        Operator::I32LeU => Token::Plain("i32.le_u", None),
        _ => return None,
    })
}

/// Names bound by a match, per kind of index.
pub(crate) type Bindings<'t> = HashMap<(&'static str, &'t str), u32>;

/// The kind of index an instruction's operand is.
fn index_kind(op: &str) -> &'static str {
    if op.starts_with("local.") {
        "local"
    } else if op.starts_with("global.") {
        "global"
    } else {
        "func"
    }
}

/// Whether `template` matches `body` at `at`, binding its names.
pub(crate) fn match_at<'t>(template: &[Pattern<'t>], body: &[Option<Token>], at: usize) -> Option<Bindings<'t>> {
    let window = body.get(at..at + template.len())?;
    let mut bound: Bindings<'t> = HashMap::new();
    let mut taken: HashMap<(&'static str, u32), &'t str> = HashMap::new();
    for (pattern, token) in template.iter().zip(window) {
        match (pattern, (*token)?) {
            (Pattern::Plain(op, arg), Token::Plain(op2, arg2)) if *op == op2 && *arg == arg2 => {}
            (Pattern::Bound(op, name), Token::Index(op2, index)) if *op == op2 => {
                let kind = index_kind(op);
                // One name, one index; and two names never share an index
                // (the template's locals are distinct variables).
                if *bound.entry((kind, name)).or_insert(index) != index
                    || *taken.entry((kind, index)).or_insert(name) != *name
                {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(bound)
}

/// Every position at which `template` matches `body`.
pub(crate) fn matches<'t>(template: &[Pattern<'t>], body: &[Option<Token>]) -> Vec<(usize, Bindings<'t>)> {
    (0..body.len())
        .filter_map(|at| match_at(template, body, at).map(|b| (at, b)))
        .collect()
}

/// A function body's operators (with their offsets in the module) in the
/// templates' alphabet.
pub(crate) fn tokens(body: &wasmparser::FunctionBody<'_>) -> Result<(Vec<Option<Token>>, Vec<usize>), Error> {
    let mut ops = body.get_operators_reader()?;
    let mut tokens = Vec::new();
    let mut offsets = Vec::new();
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset()?;
        tokens.push(token(&op));
        offsets.push(offset);
    }
    Ok((tokens, offsets))
}
