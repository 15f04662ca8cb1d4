//! The build: a [`Document`] written into guest memory, each node's blocks
//! once, children before their container.
//!
//! The values made but not yet taken by their container wait on a build
//! stack kept in a guest block (rooted for the whole build), so whatever
//! the guest's collector does while the build allocates, everything built
//! so far is reachable from it. When the heap lends the document's whole
//! room first ([`Region`]: the build lays its blocks there itself, and
//! nothing is collected until it returns), equal keys and short
//! strings share one String block (and one JString), small integers one
//! JNumber, and the document one JNull, one true and one false: every one
//! of them is immutable in Vera, and sharing them is what keeps a
//! record-shaped document's tree within a few times its text.

use std::collections::HashMap;

use vera_layout::collection::StringMaps;
use vera_layout::heap::{block_bytes, Region};
use vera_layout::values::{self, Payload};
use vera_layout::{mem, Field, GuestError, GuestResult, Tag};

use super::scan::{Document, Node, Span};
use super::{CONSTANT_SIZE, JARRAY, JBOOL, JNULL, JNUMBER, JOBJECT, JSTRING};

/// Strings up to this long are shared by content (keys of any length are).
const SHARED_STRING_MAX: u32 = 32;

/// Integers `0 .. SMALL_INTS` share one JNumber each.
const SMALL_INTS: usize = 1024;

/// Builds a parsed document in guest memory, as `json_parse` does inside
/// its `Ok`; the result is not rooted.
pub fn build_document(h: &mut impl StringMaps, doc: &Document<'_>) -> GuestResult<u32> {
    let words = u32::try_from(doc.max_pending.max(1)).map_err(|_| GuestError::too_large(doc.max_pending as u64))?;
    let stack_size = words
        .checked_mul(4)
        .ok_or_else(|| GuestError::too_large(words as u64 * 4))?;
    let bytes = doc.guest_bytes + block_bytes(stack_size);
    match h.begin_region(bytes)? {
        Some(start) => {
            let mut region = Region::new(h, start, bytes)?;
            let built = build_in(&mut region, doc, words, true);
            region.finish()?;
            built
        }
        None => build_in(h, doc, words, false),
    }
}

/// The build, in a region of its own (`shared`: nothing can collect, so
/// blocks are shared) or block by block.
fn build_in(h: &mut impl StringMaps, doc: &Document<'_>, words: u32, shared: bool) -> GuestResult<u32> {
    let stack = h.alloc(4 * words)?;
    mem::bytes_mut(h.memory_mut(), stack, 4 * words as usize)?.fill(0);
    h.with_roots(&[stack], |h| {
        let mut b = Builder {
            h,
            doc,
            stack,
            words,
            sp: 0,
            shared: shared.then(Shared::default),
            entries: Vec::new(),
        };
        for &node in &doc.nodes {
            b.node(node)?;
        }
        match b.sp {
            1 => mem::read_u32(b.h.memory(), stack),
            sp => Err(GuestError::host(format!(
                "json_parse: the build ended with {sp} values"
            ))),
        }
    })
}

/// Blocks shared across the document (only when nothing can collect).
#[derive(Default)]
struct Shared<'d> {
    /// String block and, once made, its JString, by content.
    strings: HashMap<&'d [u8], (u32, u32), foldhash::fast::FixedState>,
    /// false, true and null.
    constants: [u32; 3],
    small_ints: Vec<u32>,
}

struct Builder<'h, 'd, H> {
    h: &'h mut H,
    doc: &'d Document<'d>,
    stack: u32,
    words: u32,
    sp: u32,
    shared: Option<Shared<'d>>,
    /// One object's entries, reused.
    entries: Vec<(Field, Field)>,
}

impl<'d, H: StringMaps> Builder<'_, 'd, H> {
    fn push(&mut self, word: u32) -> GuestResult<()> {
        if self.sp >= self.words {
            return Err(GuestError::host("json_parse: the build stack overflowed"));
        }
        mem::write_u32(self.h.memory_mut(), self.stack + 4 * self.sp, word)?;
        self.sp += 1;
        Ok(())
    }

    /// Takes the top `n` words; their blocks stay reachable from the stack
    /// block (popping does not clear them) until the next pushes.
    fn pop(&mut self, n: u32) -> GuestResult<u32> {
        self.sp = self
            .sp
            .checked_sub(n)
            .ok_or_else(|| GuestError::host("json_parse: the build stack underflowed"))?;
        Ok(self.stack + 4 * self.sp)
    }

    fn node(&mut self, node: Node) -> GuestResult<()> {
        let ptr = match node {
            Node::Null => self.constant(JNULL, 0)?,
            Node::True => self.constant(JBOOL, 1)?,
            Node::False => self.constant(JBOOL, 0)?,
            Node::Num(x) => self.number(x)?,
            Node::Str(span) => self.string_value(span)?,
            Node::Key(span) => {
                let (p, l) = self.string(span)?;
                self.push(p)?;
                l
            }
            Node::Arr(n) => self.array(n)?,
            Node::Obj(n) => self.object(n)?,
        };
        self.push(ptr)
    }

    /// JNull, or JBool `flag`.
    fn constant(&mut self, tag: u32, flag: u32) -> GuestResult<u32> {
        let which = if tag == JNULL { 2 } else { flag as usize };
        if let Some(made) = self.shared.as_ref().map(|s| s.constants[which]).filter(|&p| p != 0) {
            return Ok(made);
        }
        let words: &[(u32, u32)] = if tag == JBOOL { &[(4, flag)] } else { &[] };
        let ptr = values::alloc_block(self.h, CONSTANT_SIZE, tag, words, &[])?;
        if let Some(s) = self.shared.as_mut() {
            s.constants[which] = ptr;
        }
        Ok(ptr)
    }

    fn number(&mut self, x: f64) -> GuestResult<u32> {
        let small =
            (x >= 0.0 && x < SMALL_INTS as f64 && x.fract() == 0.0 && x.is_sign_positive()).then_some(x as usize);
        if let (Some(i), Some(s)) = (small, self.shared.as_ref()) {
            if let Some(&made) = s.small_ints.get(i).filter(|&&p| p != 0) {
                return Ok(made);
            }
        }
        let ptr = values::alloc_adt(self.h, JNUMBER, Payload::Wide(x.to_bits()))?;
        if let (Some(i), Some(s)) = (small, self.shared.as_mut()) {
            if s.small_ints.is_empty() {
                s.small_ints = vec![0; SMALL_INTS];
            }
            s.small_ints[i] = ptr;
        }
        Ok(ptr)
    }

    /// The String block of `span` (`(0, 0)` for `""`).
    fn string(&mut self, span: Span) -> GuestResult<(u32, u32)> {
        let bytes = self.doc.bytes(span);
        if let Some(&(ptr, _)) = self.shared.as_ref().and_then(|s| s.strings.get(bytes)) {
            return Ok((ptr, span.len()));
        }
        let (ptr, len) = values::alloc_str(self.h, bytes)?;
        if let Some(s) = self.shared.as_mut() {
            s.strings.insert(bytes, (ptr, 0));
        }
        Ok((ptr, len))
    }

    fn string_value(&mut self, span: Span) -> GuestResult<u32> {
        let bytes = self.doc.bytes(span);
        let shared = self.shared.as_ref().filter(|_| span.len() <= SHARED_STRING_MAX);
        let known = shared.and_then(|s| s.strings.get(bytes).copied());
        if let Some((_, adt)) = known.filter(|&(_, adt)| adt != 0) {
            return Ok(adt);
        }
        let sharing = shared.is_some();
        // A key's block already made is reused for the value.
        let (p, l) = match known {
            Some((p, _)) => (p, span.len()),
            None => values::alloc_str(self.h, bytes)?,
        };
        let adt = values::alloc_adt(self.h, JSTRING, Payload::Str(p, l))?;
        if let Some(s) = self.shared.as_mut().filter(|_| sharing) {
            s.strings.insert(bytes, (p, adt));
        }
        Ok(adt)
    }

    fn array(&mut self, n: u32) -> GuestResult<u32> {
        let from = self.pop(n)?;
        let (backing, len) = match n {
            0 => (0, 0),
            _ => {
                let size = 4 * n;
                let backing = self.h.alloc(size)?;
                let memory = self.h.memory_mut();
                mem::range(memory.len(), from, size as usize)?;
                mem::range(memory.len(), backing, size as usize)?;
                memory.copy_within(from as usize..(from + size) as usize, backing as usize);
                (backing, n)
            }
        };
        values::alloc_adt(self.h, JARRAY, Payload::Str(backing, len))
    }

    fn object(&mut self, n: u32) -> GuestResult<u32> {
        let from = self.pop(3 * n)?;
        let memory = self.h.memory();
        let words = mem::bytes(memory, from, 12 * n as usize)?;
        self.entries.clear();
        self.entries.extend(words.chunks_exact(12).map(|entry| {
            let word = |i: usize| u32::from_le_bytes([entry[i], entry[i + 1], entry[i + 2], entry[i + 3]]);
            (Field::str(word(0), word(4)), Field::word(word(8)))
        }));
        let map = self.h.build_string_map(Tag::Word, &self.entries)?;
        values::alloc_adt(self.h, JOBJECT, Payload::Word(map))
    }
}
